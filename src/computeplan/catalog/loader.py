"""Load the built-in catalog and the user's catalog directories, validate every entry, resolve ids.

User directories are passed in by the caller; the library does not read the environment (the CLI turns
``--catalog DIR`` and the ``COMPUTEPLAN_CATALOG`` variable, several directories separated by ``os.pathsep``,
into that list with :func:`user_dirs_from_env`). Each ``*.yaml`` or ``*.yml`` file there (hidden files excepted)
may hold top-level lists ``chips:``, ``systems:``, ``models:`` and ``facts:``. An entry whose ``id`` already exists
overrides that entry field by field: a user file may carry only the fields it changes.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from computeplan import checks
from computeplan.catalog.schema import ENTRY_TYPES, CatalogEntry, ChipEntry, FactEntry, ModelEntry, SystemEntry
from computeplan.errors import CatalogError, InvalidInput, UnknownEntryError
from computeplan.files import load_yaml

ENV_VAR = "COMPUTEPLAN_CATALOG"
KINDS = ("chips", "systems", "models", "facts")
T = TypeVar("T")
ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass(frozen=True)
class Catalog:
    """Validated catalog entries by id, with the file each came from."""

    chips: Mapping[str, ChipEntry]
    systems: Mapping[str, SystemEntry]
    models: Mapping[str, ModelEntry]
    facts: Mapping[str, FactEntry] = field(default_factory=dict)
    origins: Mapping[tuple[str, str], str] = field(default_factory=dict)

    def chip(self, chip_id: str) -> ChipEntry:
        return _lookup(self.chips, "chip", chip_id)

    def system(self, system_id: str) -> SystemEntry:
        return _lookup(self.systems, "system", system_id)

    def model(self, model_id: str) -> ModelEntry:
        return _lookup(self.models, "model", model_id)

    def fact(self, fact_id: str) -> FactEntry:
        return _lookup(self.facts, "fact", fact_id)

    def entry(self, kind: str, entry_id: str) -> CatalogEntry:
        """Look up by kind ('chip', 'system', 'model' or 'fact', singular or plural)."""
        plural = _plural(kind)
        if plural not in KINDS:
            raise UnknownEntryError("kind", kind, [k[:-1] for k in KINDS])
        table: Mapping[str, CatalogEntry] = getattr(self, plural)
        return _lookup(table, plural[:-1], entry_id)

    def with_entry(self, kind: str, entry: CatalogEntry, origin: str) -> Catalog:
        """A copy with ``entry`` added (or replacing the entry of the same id) under ``kind`` (plural)."""
        table = {**getattr(self, kind), entry.id: entry}
        return replace(self, **{kind: table}, origins={**self.origins, (kind, entry.id): origin})

    def origin(self, kind: str, entry_id: str) -> str:
        """The file that defined (or last overrode) an entry."""
        return self.origins.get((_plural(kind), entry_id), "?")


def _plural(kind: str) -> str:
    """'chip' or 'chips' -> 'chips'; anything but text is refused."""
    if not isinstance(kind, str):
        raise InvalidInput("kind", f"expected one of {', '.join(KINDS)}, got {type(kind).__name__}")
    return kind if kind.endswith("s") else kind + "s"


def _lookup(table: Mapping[str, T], kind: str, entry_id: str) -> T:
    if not isinstance(entry_id, str):
        raise InvalidInput(kind, f"expected a catalog {kind} id (text), got {_kind(entry_id)}")
    try:
        return table[entry_id]
    except KeyError:
        pass
    if not entry_id.isprintable() or len(entry_id) > MAX_ID_SHOWN:  # keep the message one short line
        entry_id = ascii(entry_id[:MAX_ID_SHOWN])[1:-1] + ("..." if len(entry_id) > MAX_ID_SHOWN else "")
    raise UnknownEntryError(kind, entry_id, table.keys())


MAX_ID_SHOWN = 80


def _kind(value: object) -> str:
    return "None" if value is None else type(value).__name__


def as_catalog(value: object) -> Catalog:
    """The catalog an API call was given: ``value`` itself, or the built-in catalog for None."""
    if value is None:
        return load_catalog()
    if not isinstance(value, Catalog):
        raise InvalidInput("catalog", f"expected a Catalog (computeplan.load_catalog([directory])), got {_kind(value)}")
    return value


def validate_table(schema: type[ModelT], raw: Any, *, where: str) -> ModelT:
    """``raw`` (as read from YAML) validated as ``schema``; :class:`CatalogError` names ``where`` and the first
    field at fault (the small data tables beside the catalog: frameworks, kernels)."""
    try:
        return schema.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        path = ".".join(str(p) for p in err["loc"]) or "(file)"
        raise CatalogError(f"{where}: {path}: {err['msg']}") from None


def builtin_files() -> list[Path]:
    """The catalog YAML files shipped inside the package (the calibration tables, the framework defaults and the
    kernel efficiencies are not catalog files)."""
    data = resources.files("computeplan.catalog") / "data"
    return sorted(
        Path(str(p))
        for p in data.iterdir()
        if p.name.endswith(".yaml")
        and p.name
        not in (EFFICIENCY_FILE, INFERENCE_EFFICIENCY_FILE, FRAMEWORKS_FILE, KERNELS_FILE, SERVING_FRAMEWORKS_FILE)
    )


EFFICIENCY_FILE = "efficiency.yaml"
INFERENCE_EFFICIENCY_FILE = "inference_efficiency.yaml"
FRAMEWORKS_FILE = "frameworks.yaml"  # catalog.frameworks reads it
KERNELS_FILE = "kernels.yaml"  # catalog.kernels reads it
SERVING_FRAMEWORKS_FILE = "serving_frameworks.yaml"  # catalog.serving_frameworks reads it


def data_file(name: str) -> Path:
    """A data file shipped in the package (``catalog/data/``)."""
    return Path(str(resources.files("computeplan.catalog") / "data" / name))


def efficiency_table_path(kind: str = "training") -> Path:
    """Where the package's own efficiency table of ``kind`` (``training`` or ``inference``) is."""
    return data_file(EFFICIENCY_FILE if kind == "training" else INFERENCE_EFFICIENCY_FILE)


def load_efficiency_table(path: str | Path | None = None, *, kind: str = "training") -> dict[str, Any] | None:
    """The fitted efficiency parameters per chip family (written by ``computeplan calibrate``), as read, or None.

    ``kind`` is ``training`` or ``inference``: each model has its own table. Without ``path``, the package's own
    table. Only the layout is checked here; :func:`computeplan.catalog.efficiency_schema.parse_efficiency_table`
    validates the values against the model's parameter space (``EfficiencyTables`` does both).
    """
    target = Path(path) if path else efficiency_table_path(kind)
    if not path and not target.exists():
        return None
    table = load_yaml(target, what="calibration file", error=CatalogError)
    if not isinstance(table, dict) or "families" not in table:
        raise CatalogError(f"{target}: expected a mapping with 'families' and 'default'")
    return table


def user_dirs_from_env(environ: Mapping[str, str] | None = None) -> list[Path]:
    """The directories named by ``$COMPUTEPLAN_CATALOG`` (separated by ``os.pathsep``); for the CLI to call."""
    raw = (os.environ if environ is None else environ).get(ENV_VAR, "")
    return [Path(p) for p in raw.split(os.pathsep) if p.strip()]


def load_catalog(
    user_dirs: Sequence[str | os.PathLike[str]] | str | os.PathLike[str] | None = None, *, use_env: bool = False
) -> Catalog:
    """Load the built-in catalog plus the ``*.yaml``/``*.yml`` files of ``user_dirs`` (one directory, or a list of
    them, in order).

    ``use_env=True`` also adds the directories of ``$COMPUTEPLAN_CATALOG`` (:func:`user_dirs_from_env`); only
    the command line should ask for that. Raises :class:`CatalogError` naming the file (and entry and field) on
    the first unreadable file or invalid entry.
    """
    dirs = _directories(user_dirs)
    if checks.flag("use_env", use_env):
        dirs += user_dirs_from_env()
    files = builtin_files()
    for directory in dirs:
        files += _catalog_files(directory)
    # Keyed on each file's modification time and size, so an edited file is read again.
    return _load_cached(tuple(_fingerprint(f) for f in files))


def _directories(user_dirs: object) -> list[Path]:
    """The user's catalog directories: none, one (text or a path object) or an iterable of them."""
    if user_dirs is None:
        return []
    if isinstance(user_dirs, str | os.PathLike):
        user_dirs = [user_dirs]
    if not isinstance(user_dirs, Iterable) or isinstance(user_dirs, bytes | Mapping):
        raise InvalidInput("user_dirs", f"expected a directory or a list of directories, got {_kind(user_dirs)}")
    return [Path(checks.file_path("user_dirs", d, expected="a directory (str or os.PathLike)")) for d in user_dirs]


def _catalog_files(directory: Path) -> list[Path]:
    """The ``*.yaml`` then ``*.yml`` names in ``directory``, sorted; hidden files (editor locks) are skipped."""
    try:
        names = sorted(os.listdir(directory))
    except FileNotFoundError:
        raise CatalogError(f"{directory}: catalog directory does not exist") from None
    except NotADirectoryError:
        raise CatalogError(f"{directory}: catalog directory is a file, not a directory") from None
    except OSError as exc:
        raise CatalogError(f"{directory}: cannot list catalog directory: {exc.strerror or exc}") from None
    visible = [n for n in names if not n.startswith(".")]
    return [directory / n for n in visible if n.endswith(".yaml")] + [
        directory / n for n in visible if n.endswith(".yml")
    ]


def _fingerprint(path: Path) -> tuple[str, int, int]:
    """Name, modification time and size; a file that cannot be stat'ed is read (and its error reported) anyway."""
    try:
        info = path.stat()
    except OSError:
        return str(path), -1, -1
    return str(path), info.st_mtime_ns, info.st_size


@lru_cache(maxsize=8)
def _load_cached(files: tuple[tuple[str, int, int], ...]) -> Catalog:
    return build_catalog(Path(name) for name, _, _ in files)


def build_catalog(files: Iterable[Path]) -> Catalog:
    """Merge the raw entries of ``files`` in order, then validate each entry and the ids between them."""
    raw: dict[str, dict[str, dict[str, Any]]] = {k: {} for k in KINDS}
    origins: dict[tuple[str, str], str] = {}
    for path in files:
        for kind, entry in _read_entries(path):
            entry_id = entry["id"]
            previous = raw[kind].get(entry_id)
            raw[kind][entry_id] = {**previous, **entry} if previous else entry
            origins[(kind, entry_id)] = str(path)

    validated: dict[str, dict[str, Any]] = {k: {} for k in KINDS}
    for kind in KINDS:
        model_type = ENTRY_TYPES[kind]
        for entry_id, entry in raw[kind].items():
            validated[kind][entry_id] = _validate(model_type, entry, origins[(kind, entry_id)], kind)
    catalog = Catalog(
        chips=validated["chips"],
        systems=validated["systems"],
        models=validated["models"],
        facts=validated["facts"],
        origins=origins,
    )
    _check_references(catalog)
    return catalog


def _read_entries(path: Path) -> Iterable[tuple[str, dict[str, Any]]]:
    doc = load_yaml(path, what="catalog file", error=CatalogError)
    if doc is None:
        return
    if not isinstance(doc, dict):
        raise CatalogError(f"{path}: expected a mapping with keys {', '.join(KINDS)}, got {type(doc).__name__}")
    for key in doc:
        if key not in KINDS:
            raise CatalogError(f"{path}: unknown top-level key{_suggest(str(key), KINDS)}; allowed: {', '.join(KINDS)}")
    for kind in KINDS:
        entries = doc.get(kind) or []
        if not isinstance(entries, list):
            raise CatalogError(f"{path}: '{kind}' must be a list of entries")
        seen: set[str] = set()
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
                raise CatalogError(f"{path}: {kind}[{i}]: every entry needs a string 'id'")
            if entry["id"] in seen:
                raise CatalogError(f"{path}: {kind}[id={entry['id']}]: duplicate id in the same file")
            seen.add(entry["id"])
            yield kind, entry


def resolve_entry(catalog: Catalog, value: object, kind: str, *, field: str) -> tuple[Catalog, CatalogEntry]:
    """The entry of ``kind`` (plural) that ``value`` names, and the catalog to use with it.

    ``value`` is a catalog id, or a YAML file holding one entry (a path object always is a file; so is text naming
    ``*.yaml`` that is not an id). A file's entry is added to a copy of the catalog under its own id; a chip's
    system must be in the catalog. ``field`` is the API parameter named in errors.
    """
    name = checks.id_or_file(field, value)
    table: Mapping[str, CatalogEntry] = getattr(catalog, kind)
    as_file = isinstance(value, os.PathLike) or (
        name.endswith((".yaml", ".yml")) and (Path(name).exists() or name not in table)
    )
    if not as_file:
        return catalog, catalog.entry(kind, name)
    entry = load_entry_file(name, kind, field=field)
    if isinstance(entry, ChipEntry) and entry.system not in catalog.systems:
        raise CatalogError(
            f"{name}: chips[id={entry.id}].system: {UnknownEntryError('system', entry.system, catalog.systems)}"
        )
    return catalog.with_entry(kind, entry, name), entry


def resolve_chips(catalog: Catalog, values: Sequence[object], *, field: str) -> list[tuple[Catalog, str]]:
    """(catalog, chip id) for each chip id or chip file of ``values`` (:func:`resolve_entry`); the same chip twice,
    by id or by a file of the same id, is refused naming both."""
    named: dict[str, object] = {}
    resolved = []
    for value in values:
        cat, entry = resolve_entry(catalog, value, "chips", field=field)
        if entry.id in named:
            first = named[entry.id]
            if str(first) == str(value):
                raise InvalidInput(field, f"'{entry.id}' is given twice; compare each chip once")
            problem = f"{first} and {value} are both chip '{entry.id}'; compare each chip once"
            raise InvalidInput(field, problem + " (give a chip file its own id)")
        named[entry.id] = value
        resolved.append((cat, entry.id))
    return resolved


def load_entry_file(path: str | os.PathLike[str], kind: str, *, field: str | None = None) -> CatalogEntry:
    """One catalog entry of ``kind`` (plural: 'models', 'chips') from a YAML file: the entry itself, or a file
    with a one-entry list under ``kind``. Validated like the catalog's own entries.

    A file that holds another kind of entry (a model given for a chip) is refused as such: an InvalidInput naming
    ``field`` when given (the API parameter the file was passed to), else a CatalogError.
    """
    singular = kind.removesuffix("s")
    path = os.fspath(path)
    doc = load_yaml(path, what=f"{singular} file", error=CatalogError)
    other = _other_kind(doc, kind)
    if other is not None:
        problem = f"{path}: expected a {singular} entry, found a {other.removesuffix('s')} entry"
        raise InvalidInput(field, problem) if field else CatalogError(problem)
    if isinstance(doc, dict) and kind in doc:
        entries = doc[kind]
        if not isinstance(entries, list) or len(entries) != 1:
            raise CatalogError(f"{path}: expected exactly one entry under '{kind}'")
        doc = entries[0]
    if not isinstance(doc, dict) or not isinstance(doc.get("id"), str):
        raise CatalogError(f"{path}: a {singular} file holds one {singular} entry with a string 'id'")
    entry: CatalogEntry = _validate(ENTRY_TYPES[kind], doc, str(path), kind)
    return entry


def _other_kind(doc: object, kind: str) -> str | None:
    """The kind (plural) of entry ``doc`` holds when it is plainly not ``kind``: it lists entries under another
    kind's key, or the fields it has that ``kind`` lacks are all fields of exactly one other kind. Else None."""
    if not isinstance(doc, dict):
        return None
    lists = [k for k in KINDS if k in doc]
    if lists:
        return None if kind in lists else lists[0]
    keys = set(doc) - {"id", "name", "notes"}
    if keys <= set(ENTRY_TYPES[kind].model_fields):
        return None
    others = [k for k in KINDS if k != kind and keys <= set(ENTRY_TYPES[k].model_fields)]
    return others[0] if len(others) == 1 else None


def _validate(model_type: type[BaseModel], entry: dict[str, Any], path: str, kind: str) -> Any:
    try:
        return model_type.model_validate(entry)
    except ValidationError as exc:
        raise CatalogError(f"{path}: {kind}[id={entry['id']}].{_describe(exc, model_type)}") from None


def _describe(exc: ValidationError, model_type: type[BaseModel]) -> str:
    """One line for the first error: field path and what is wrong, with allowed values or suggestions."""
    err = exc.errors(include_url=False)[0]
    loc = [str(p) for p in err["loc"]]
    msg = str(err["msg"]).removeprefix("Value error, ")
    where = ".".join(loc) if loc else "(entry)"
    if err["type"] == "extra_forbidden":
        allowed = _allowed_fields(model_type, loc[:-1])
        return f"{where}: unknown field{_suggest(loc[-1], allowed)}; allowed: {', '.join(allowed)}"
    if err["type"] == "missing":
        return f"{where}: required field is missing"
    # unit and range messages name the sub-field ('value: ...'): join it to the path
    head, sep, rest = msg.partition(": ")
    if sep and (head in ("value", "low", "high") or head.startswith("alternatives[")):
        return f"{where}.{head}: {rest}" if loc else f"{head}: {rest}"
    return f"{where}: {msg}"


def _allowed_fields(model_type: type[BaseModel], loc: list[str]) -> list[str]:
    current: Any = model_type
    for part in loc:
        info = getattr(current, "model_fields", {}).get(part)
        if info is None:
            break
        annotation = info.annotation
        for candidate in getattr(annotation, "__args__", (annotation,)):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                current = candidate
                break
    return list(getattr(current, "model_fields", {}))


def _suggest(name: str, allowed: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(allowed), n=1, cutoff=0.6)
    return f" '{name}' (did you mean '{close[0]}'?)" if close else f" '{name}'"


def _check_references(catalog: Catalog) -> None:
    for chip in catalog.chips.values():
        if chip.system not in catalog.systems:
            where = catalog.origin("chips", chip.id)
            raise CatalogError(
                f"{where}: chips[id={chip.id}].system: {UnknownEntryError('system', chip.system, catalog.systems)}"
            )
    for system in catalog.systems.values():
        if system.chip not in catalog.chips:
            where = catalog.origin("systems", system.id)
            raise CatalogError(
                f"{where}: systems[id={system.id}].chip: {UnknownEntryError('chip', system.chip, catalog.chips)}"
            )
