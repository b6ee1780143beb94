"""A Metaflow-style training flow, read statically by `ferry resolve` (it is never run by ferry).

    ferry resolve examples/flow/train_flow.py --platform linux-64 --platform osx-arm64
    ferry show examples/flow/ferry.lock

Package names come from ferry's fixture channel and index (docs/formats/fixtures.md); channels
and the PyPI index come from the configuration (FERRY_CHANNELS, FERRY_INDEX_URL).
"""
from metaflow import FlowSpec, Parameter, card, conda, conda_base, named_env, pypi, retry, step


@conda_base(
    python="3.11",
    libraries={
        "numpy": "1.26.4",  # conda "exact or prefix": 1.26.4 or 1.26.4.*
        "pandas": "2.2.1",
    },
)
class TrainFlow(FlowSpec):
    """Train one model per fold, report, and explain with a separately published environment."""

    folds = Parameter("folds", help="number of folds", default=3)

    @step
    def start(self):
        import numpy  # noqa: F401  (from the flow-level environment)

        self.fold_ids = list(range(self.folds))
        self.next(self.train, foreach="fold_ids")

    # The training step adds scikit-learn and overrides numpy (the step wins per package).
    @retry(times=2)
    @conda(
        libraries={
            "scikit-learn": "1.4.1",
            "numpy": "1.26.4",
            "scipy": "",  # any version
        }
    )
    @step
    def train(self):
        import sklearn  # noqa: F401

        self.score = 0.9 + 0.01 * self.input
        self.next(self.join)

    @step
    def join(self, inputs):
        self.scores = [i.score for i in inputs]
        self.next(self.report)

    # A PyPI package on top of the flow-level conda environment (mixed conda + PyPI).
    @card
    @pypi(packages={"ferry-demo": "0.2.0"})
    @step
    def report(self):
        self.next(self.publish_local)

    # Runs in the host environment: no environment is resolved for it.
    @conda(disabled=True)
    @step
    def publish_local(self):
        self.next(self.explain)

    # Uses an environment published by another flow under a name, fetched when the task starts.
    @named_env(name="explainer:v1", fetch_at_exec=True)
    @step
    def explain(self):
        self.next(self.end)

    @step
    def end(self):
        print("scores:", self.scores)


if __name__ == "__main__":
    TrainFlow()
