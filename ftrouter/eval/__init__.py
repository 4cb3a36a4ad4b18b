"""Evaluation: model specs -> answers (cached, concurrent, retried), metrics, paired comparisons, reports.

The core knows no provider SDK: answering is done by ``Answerer``s that the provider plugins make
(``ftrouter.eval.specs`` resolves a model spec to one, lazily, with an install hint when missing).
"""
