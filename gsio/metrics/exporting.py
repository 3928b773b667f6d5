"""Families (:mod:`gsio.metrics.reading`) as prometheus_client sees them.

- One process: :class:`Collector`, a custom collector that reads the families at each scrape
  (nothing is kept between scrapes; counting is the observer's integers).
- Several (``PROMETHEUS_MULTIPROC_DIR``, e.g. ``gunicorn -w N``): a scrape reaches one worker,
  and a custom collector sees its own process only, so :class:`Flusher` copies the families
  into prometheus_client's multiprocess metrics (files in that directory, summed over the
  workers by its ``MultiProcessCollector``): counters by their increase since the last copy,
  gauges set (``livesum`` or ``livemax``: a dead worker's clients are not counted). Copied
  every ``interval`` seconds, and by the worker that answers a scrape just before it does.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Callable

from prometheus_client import Counter, Gauge
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector as _Collector

from gsio.metrics.reading import Family

__all__ = ["Collector", "Flusher"]

Read = Callable[[], list[Family]]


class Collector(_Collector):
    """A prometheus_client collector of ``read()``'s families (one process)."""

    def __init__(self, read: Read) -> None:
        self.read = read

    def collect(self) -> Iterator[Metric]:
        for family in self.read():
            metric: CounterMetricFamily | GaugeMetricFamily
            if family.kind == "counter":
                metric = CounterMetricFamily(family.name, family.help, labels=family.labels)
            else:
                metric = GaugeMetricFamily(family.name, family.help, labels=family.labels)
            for labels, value in family.samples.items():
                metric.add_metric(list(labels), value)
            yield metric


class Flusher:
    """Copies ``read()``'s families into prometheus_client's metrics (multiprocess mode)."""

    def __init__(self, read: Read) -> None:
        self.read = read
        self._metrics: dict[str, Any] = {}
        self._copied: dict[tuple[str, tuple[str, ...]], float] = {}

    def _metric(self, family: Family) -> Any:
        metric = self._metrics.get(family.name)
        if metric is None:
            # registry=None: these are exported by the MultiProcessCollector, from the files.
            if family.kind == "counter":
                metric = Counter(family.name, family.help, family.labels, registry=None)
            else:
                metric = Gauge(
                    family.name,
                    family.help,
                    family.labels,
                    registry=None,
                    multiprocess_mode=family.mode,  # type: ignore[arg-type]
                )
            self._metrics[family.name] = metric
        return metric

    def flush(self) -> None:
        copied = self._copied
        for family in self.read():
            metric = self._metric(family)
            counter = family.kind == "counter"
            samples = family.samples
            if not counter:  # a gauge's label set that is gone: 0, not its last value
                for name, labels in list(copied):
                    if name == family.name and labels not in samples:
                        samples[labels] = 0
            for labels, value in samples.items():
                child = metric.labels(*labels) if labels else metric
                key = (family.name, labels)
                if counter:
                    increase = value - copied.get(key, 0)
                    if increase > 0:
                        child.inc(increase)
                else:
                    child.set(value)
                copied[key] = value
