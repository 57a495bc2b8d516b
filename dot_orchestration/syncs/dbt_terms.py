"""The dbt models of the common selection terms, looked up in an index of the manifest.

dbt resolves a selection term by testing every node of the manifest against it, and
dagster-dbt rebuilds dbt's Manifest and graph for each term it resolves: 0.1-0.2 s a
term at 2,000 models, so 50 connections of three terms each took longer to resolve than
the whole `@dbt_assets` definition took to load. Most terms are a model or folder name
(`orders`, `marts`) or a tag (`tag:dot`); for those dbt's rule is short, so one pass
over the manifest indexes every node by the names and tags that select it, and each such
term is then a lookup. Anything else (graph operators, wildcards, paths, other methods,
intersections, versioned models) is not "simple" here and goes to dagster-dbt, whose
answer is dbt's own. `tests/sync/test_dbt_terms.py` checks the lookups against
dagster-dbt's answer for every name, folder and tag of the example project.
"""

import os
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from dagster import AssetKey, AssetsDefinition

from dot_orchestration._compat import dbt_manifest_of, dbt_unique_id_of

#: A bare name: dbt's default method for it is `fqn` (no path separator, no file suffix,
#: no wildcard, no graph operator, no intersection).
_NAME = re.compile(r"[A-Za-z0-9_]+")
_TAG = "tag:"


class DbtTermIndex:
    """The dbt assets of one `@dbt_assets` definition, by the simple terms selecting them.

    A bare name selects, as dbt's `fqn` method does for a name without dots or
    wildcards, every node whose name, package or top folder (the first part of the fqn
    after the package) it is; `tag:<name>` every node carrying that tag. Only the
    definition's own assets count, which is the intersection `build_dbt_asset_selection`
    takes with the definition's `select`/`exclude`.
    """

    def __init__(self, dbt_assets: AssetsDefinition) -> None:
        manifest = dbt_manifest_of(dbt_assets)
        keys = {
            unique_id: key
            for key, spec in dbt_assets.specs_by_key.items()
            if (unique_id := dbt_unique_id_of(spec)) is not None
        }
        self._by_name: dict[str, set[AssetKey]] = defaultdict(set)
        self._by_tag: dict[str, set[AssetKey]] = defaultdict(set)
        # dbt matches versioned models on two fqn parts; such manifests go to dagster-dbt.
        self._names_simple = True
        for unique_id, node in manifest["nodes"].items():
            self._names_simple &= _plain_fqn(node)
            if (key := keys.get(unique_id)) is None:
                continue  # not an asset of this definition (a test, another selection)
            fqn: list[str] = node["fqn"]
            for name in {fqn[-1], fqn[0].split(".")[0], fqn[1].split(".")[0]}:
                self._by_name[name].add(key)
            for tag in node.get("tags") or ():
                # dbt compares tags with `fnmatch`, which normalises case as the OS does.
                self._by_tag[os.path.normcase(tag)].add(key)

    def select(self, term: str, exclude: str | None) -> frozenset[AssetKey] | None:
        """The assets `term` selects less those `exclude` selects, or None when either is
        not made of simple terms (the caller asks dagster-dbt)."""
        selected = self._term(term)
        excluded = self._union(exclude.split(" ")) if exclude else frozenset()
        if selected is None or excluded is None:
            return None
        return selected - excluded

    def _union(self, terms: Iterable[str]) -> frozenset[AssetKey] | None:
        keys: set[AssetKey] = set()
        for term in terms:
            if (selected := self._term(term)) is None:
                return None
            keys |= selected
        return frozenset(keys)

    def _term(self, term: str) -> frozenset[AssetKey] | None:
        if term.startswith(_TAG) and _NAME.fullmatch(tag := term.removeprefix(_TAG)):
            return frozenset(self._by_tag.get(os.path.normcase(tag), ()))
        if self._names_simple and _NAME.fullmatch(term):
            return frozenset(self._by_name.get(term, ()))
        return None


def _plain_fqn(node: Mapping[str, Any]) -> bool:
    """A node dbt matches on its fqn's parts alone: not versioned, a package and a name."""
    return node.get("version") is None and len(node.get("fqn") or ()) >= 2


__all__ = ["DbtTermIndex"]
