"""``MockedObject``: what a mocked module hands out for every attribute.

The exporter writes this file into a package as ``_mock.py`` (it must stay
self-contained: it runs inside the package) and each mocked module as a stub whose
``__getattr__`` returns ``MockedObject("module.attr")``. Code that only mentions a mocked
name keeps working; using the object (calling it, arithmetic, indexing, ...) raises
NotImplementedError naming it.
"""

_MAGIC = (
    "abs add and bool bytes call ceil complex contains copy deepcopy delattr delitem dir "
    "divmod enter eq exit float floor floordiv ge getattr getitem getstate gt hash iadd "
    "iand idiv ifloordiv ilshift imod imul index int invert ior ipow irshift isub iter "
    "itruediv ixor le len lshift lt mod mul ne neg or pos pow rand rdivmod reduce "
    "reversed rmul round rrshift rshift setattr setitem sizeof sub truediv trunc xor "
    "instancecheck subclasscheck"
).split()


class MockedObject:
    _name: str

    def __new__(cls, *args, **kwargs):
        # the stub module passes _suppress_err; unpickling calls __new__ bare
        if not kwargs.get("_suppress_err"):
            name = getattr(cls, "_name", cls.__name__)
            raise NotImplementedError(
                f"Object '{name}' was mocked out during packaging but it is being used "
                "in '__new__'. If this error is happening during 'load_pickle', please "
                "ensure that your pickled object doesn't contain any mocked objects.")
        return super().__new__(cls)

    def __init__(self, name: str, _suppress_err: bool) -> None:
        self.__dict__["_name"] = name

    def __repr__(self) -> str:
        return f"MockedObject({self._name})"


def _refuse(method_name):
    def method(self, *args, **kwargs):
        raise NotImplementedError(f"Object '{self._name}' was mocked out during packaging "
                                  f"but it is being used in {method_name}")

    return method


for _name in _MAGIC:
    setattr(MockedObject, f"__{_name}__", _refuse(f"__{_name}__"))
