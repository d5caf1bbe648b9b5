"""The simulator's kernel contract: the one feature list, its order, and the hooks the lab calls."""

import importlib
import inspect
import pkgutil

import pytest

import pkilab.sim.features as features_pkg
from pkilab.sim.features import FEATURES
from pkilab.sim.features.ca_server import CaServer
from pkilab.sim.router import Feature, install_features
from unit.sim.simkit import OfflineLab, make_spec


def _feature_classes_defined() -> set[type[Feature]]:
    found: set[type[Feature]] = set()
    for info in pkgutil.iter_modules(features_pkg.__path__):
        module = importlib.import_module(f"{features_pkg.__name__}.{info.name}")
        for value in vars(module).values():
            if inspect.isclass(value) and issubclass(value, Feature) and value.__module__ == module.__name__:
                found.add(value)
    return found


def test_every_feature_is_listed_once() -> None:
    assert len(set(FEATURES)) == len(FEATURES)
    assert _feature_classes_defined() == set(FEATURES)


def test_a_feature_comes_after_every_feature_its_module_imports() -> None:
    position = {cls: i for i, cls in enumerate(FEATURES)}
    for cls in FEATURES:
        module = importlib.import_module(cls.__module__)
        used = {v for v in vars(module).values() if inspect.isclass(v) and v in position and v is not cls}
        late = sorted(u.__name__ for u in used if position[u] > position[cls])
        assert not late, f"{cls.__name__} imports {late}, listed after it in FEATURES"


def test_router_builds_the_listed_features_in_order() -> None:
    lab = OfflineLab(make_spec())
    assert list(lab.routers["r1"].features) == list(FEATURES)


def test_listing_a_feature_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="twice"):
        install_features([*FEATURES, FEATURES[0]])


def test_hooks_have_no_op_defaults_and_the_ca_serves_scep() -> None:
    lab = OfflineLab(make_spec())
    router = lab.routers["r1"]
    served = {prefix for f in router.features.values() for prefix in f.http_apps()}
    assert served == set(router.feature(CaServer).http_apps()) == {"/cgi-bin/pkiclient.exe"}
    router.tick(0.0)
    assert router.errors == []


def test_a_failing_tick_is_recorded_not_raised() -> None:
    lab = OfflineLab(make_spec())
    router = lab.routers["r1"]
    broken = router.feature(CaServer)

    def fail(now: float) -> None:
        raise RuntimeError("boom")

    broken.tick = fail  # type: ignore[method-assign]
    router.tick(1.0)
    assert router.errors == ["CaServer.tick: RuntimeError('boom')"]
