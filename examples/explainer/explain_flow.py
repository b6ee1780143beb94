"""An explainer flow (Metaflow style) that runs on top of model A's environment.

It does not resolve model A's packages itself: `start` composes a new environment from the
published `model-a:v1` (kept at its locked versions) plus the explainer's own requirements and
publishes it under a per-run name; the `explain` step, wherever it is scheduled (a fresh pod with
an empty FERRY_HOME), fetches that name when the task starts (`fetch_at_exec=True`) and imports
modules from both sides. `@{RUN_ID}` in the name is replaced from the task's RUN_ID environment
variable at execution time.

    ferry resolve explain_flow.py --platform linux-64   # records explain -> the named environment

See README.md in this directory for the commands each step runs.
"""
import os
import subprocess

from metaflow import FlowSpec, current, named_env, step

EXPLAINER_ENV = "explainer/model-a-@{RUN_ID}"


class ModelAExplainFlow(FlowSpec):
    """Explain model A's predictions with the explainer's own tools."""

    # Runs in the scheduler's environment (no environment decorator): composes and publishes the
    # environment that `explain` runs in.
    @step
    def start(self):
        subprocess.run(
            ["ferry", "compose", "model-a:v1",
             "--conda", "pandas", "--pypi", "ferry-demo",
             "--name", EXPLAINER_ENV, "-o", "explainer.lock"],
            check=True,
            env=dict(os.environ, RUN_ID=str(current.run_id)),
        )
        self.next(self.explain)

    # The environment is looked up by name when the task starts, in the pod:
    #   RUN_ID=<run> ferry run 'explainer/model-a-@{RUN_ID}' -- python <task>
    @named_env(name="explainer/model-a-@{RUN_ID}", fetch_at_exec=True)
    @step
    def explain(self):
        import ferry_demo  # the explainer's PyPI addition
        import numpy  # model A's packages, at model A's locked versions
        import pandas  # the explainer's conda addition
        import sklearn

        self.versions = {
            "numpy": numpy.__version__,
            "sklearn": sklearn.__version__,
            "pandas": pandas.__version__,
            "ferry_demo": ferry_demo.__version__,
        }
        self.next(self.end)

    @step
    def end(self):
        print("explained with", self.versions)


if __name__ == "__main__":
    ModelAExplainFlow()
