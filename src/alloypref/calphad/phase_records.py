"""A pycalphad ``PhaseRecordFactory`` whose compiled functions pickle, and the keys that name them."""

from __future__ import annotations

from pycalphad.codegen.phase_record_factory import PhaseRecordFactory


class PicklablePhaseRecordFactory(PhaseRecordFactory):
    """A ``PhaseRecordFactory`` whose compiled functions live on the instance, so they pickle.

    pycalphad memoises compiled callbacks with ``functools.lru_cache`` on the class, which a pickle
    of the instance does not carry. ``PhaseRecord`` objects refer back to their factory and are
    rebuilt cheaply from the memoised functions, so they are left out of the pickle.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._memo = {}

    def _memoised(self, key, compute):
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_memo"] = {k: v for k, v in self._memo.items() if k[0] != "record"}
        return state

    def get_phase_constraints(self, phase_name):
        return self._memoised(
            ("constraints", phase_name), lambda: PhaseRecordFactory.get_phase_constraints.__wrapped__(self, phase_name)
        )

    def get_phase_formula_moles_element(self, phase_name, element_name, per_formula_unit=True):
        return self._memoised(
            ("moles", phase_name, element_name, per_formula_unit),
            lambda: PhaseRecordFactory.get_phase_formula_moles_element.__wrapped__(
                self, phase_name, element_name, per_formula_unit
            ),
        )

    def get_phase_property(self, phase_name, property_name, include_grad=True, include_hess=True):
        return self._memoised(
            ("property", phase_name, property_name, include_grad, include_hess),
            lambda: PhaseRecordFactory.get_phase_property.__wrapped__(
                self, phase_name, property_name, include_grad, include_hess
            ),
        )

    def get(self, phase_name):
        return self._memoised(("record", phase_name), lambda: PhaseRecordFactory.get.__wrapped__(self, phase_name))


def compiled_keys(factory) -> frozenset:
    """The compiled functions a :class:`PicklablePhaseRecordFactory` holds (its memo keys; the
    ``PhaseRecord`` objects built from them are left out: they are not pickled)."""
    return frozenset(key for key in getattr(factory, "_memo", {}) if key[0] != "record")


def compile_function(factory, key: tuple) -> None:
    """Compile the function a memo key of :class:`PicklablePhaseRecordFactory` names."""
    kind, *args = key
    if kind == "constraints":
        factory.get_phase_constraints(*args)
    elif kind == "moles":
        factory.get_phase_formula_moles_element(*args)
    elif kind == "property":
        factory.get_phase_property(*args)
    else:
        raise ValueError(f"not a compiled function: {key!r}")
