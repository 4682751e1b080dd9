"""The modules a piece of source imports, found by reading its syntax tree: ``import a.b``,
``from a import b`` (relative ones resolved against the package), and ``__import__`` calls
with literal arguments. The exporter follows these to discover what a module needs."""

from __future__ import annotations

import ast

from ._importlib import _resolve_name

__all__ = ["find_files_source_depends_on"]


def _literal(node):
    if not isinstance(node, ast.Constant):
        raise ValueError("not a literal")
    return node.value


class _ModuleReferences(ast.NodeVisitor):
    """Collects (module, imported name or None) pairs, in order, without repeats."""

    def __init__(self, package: str) -> None:
        self.package = package
        self.references: dict[tuple[str, str | None], bool] = {}

    def _add(self, module: str, name: str | None) -> None:
        self.references[(module, None if name == "*" else name)] = True

    def _absolute(self, module: str | None, level: int) -> str:
        return _resolve_name(module or "", self.package, level) if level else module

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, None)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = self._absolute(node.module, node.level or 0)
        for alias in node.names:
            self._add(module, alias.name)

    def visit_Call(self, node: ast.Call) -> None:
        self.generic_visit(node)
        if not (isinstance(node.func, ast.Name) and node.func.id == "__import__"):
            return
        try:  # __import__(name, globals, locals, fromlist, level) with literal arguments
            keywords = {k.arg: k.value for k in node.keywords}
            name = _literal(node.args[0])
            fromlist_node = node.args[3] if len(node.args) > 3 else keywords.get("fromlist")
            level_node = node.args[4] if len(node.args) > 4 else keywords.get("level")
            fromlist = [] if fromlist_node is None else [_literal(e) for e in fromlist_node.elts]
            level = 0 if level_node is None else _literal(level_node)
        except (ValueError, AttributeError, IndexError):
            return  # computed arguments: nothing to read statically
        if not fromlist:
            self._add(name, None)
            parent = name.rsplit(".", 1)[0]
            if parent != name:  # __import__("a.b") binds (and so needs) "a" too
                self._add(self._absolute(parent, level), None)
            return
        module = self._absolute(name, level)
        for alias in fromlist:
            self._add(module, alias)


def find_files_source_depends_on(src: str, package: str) -> list[tuple[str, str | None]]:
    """[(module, name)] that ``src`` (a module of ``package``) imports; ``name`` is the
    imported attribute for ``from module import name``, else None."""
    visitor = _ModuleReferences(package)
    visitor.visit(ast.parse(src))
    return list(visitor.references)
