"""Model A's training flow (Metaflow style), read statically by `ferry resolve`; ferry never runs it.

Every step shares the flow-level environment, so the flow has exactly one environment, which is
resolved, pushed to the remote store and published as the immutable name `model-a:v1`:

    ferry resolve train_flow.py --platform linux-64 --push --name model-a:v1

See README.md in this directory for the whole model-and-explainer scenario.
Package names come from ferry's fixture channel (docs/formats/fixtures.md); channels come from the
configuration (FERRY_CHANNELS or --channel).
"""
from metaflow import FlowSpec, conda_base, step


@conda_base(
    python="3.11",
    libraries={
        "numpy": "1.26.4",  # conda "exact or prefix": 1.26.4 or 1.26.4.*
        "scikit-learn": "",  # any version
    },
)
class ModelATrainFlow(FlowSpec):
    """Fit a linear model and keep it as an artifact for explainers to load."""

    @step
    def start(self):
        import numpy

        self.xs = [[float(i)] for i in range(10)]
        self.ys = [2.0 * i + 1.0 for i in range(10)]
        print("numpy", numpy.__version__)
        self.next(self.train)

    @step
    def train(self):
        import sklearn
        from sklearn.linear_model import LinearRegression

        self.model = LinearRegression().fit(self.xs, self.ys)
        print("scikit-learn", sklearn.__version__)
        self.next(self.end)

    @step
    def end(self):
        print("model-a trained; its environment is published as model-a:v1")


if __name__ == "__main__":
    ModelATrainFlow()
