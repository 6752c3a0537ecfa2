"""What a registered model ships so that anyone can call it: an MLflow pyfunc around the Keras model.

:func:`log_champion` logs, through the tracker: the Keras model, the prepared data's serving spec and
files (:meth:`~seqlab.modalities.PreparedData.serving_spec`) and the serving code: :mod:`seqlab.serving`
and every seqlab module it imports, copied as the package ``seqlab_champion`` with their ``seqlab``
imports renamed (:func:`stage_code`). The model then loads in a Python without seqlab, and builds its
rows with the very functions that prepared the training data.
"""

from __future__ import annotations

import ast
import json
import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from seqlab.config import Params
    from seqlab.modalities import PreparedData
    from seqlab.tracking import Tracker

PACKAGE = "seqlab"
SHIPPED_PACKAGE = "seqlab_champion"
# What the shipped code may import at module level besides the standard library and itself (each
# distribution is imported under its own name); MLflow is the adapter's (seqlab.tracking), not its.
SHIPPED_IMPORTS: tuple[str, ...] = ("tensorflow", "keras", "numpy", "pandas")
SERVING_REQUIREMENTS: tuple[str, ...] = (*SHIPPED_IMPORTS, "mlflow")  # the model's pip requirements
SOURCE = Path(__file__).resolve().parent  # the seqlab package's folder
SERVING = "seqlab.serving.model"  # what the registered model runs (tracking ships its MLflow adapter)
STUB = f'"""Shipped with a registered seqlab model ({PACKAGE}.champion)."""\n'


def registered_model_name(dataset: str, params: Params) -> str:
    """Return the registered model of a dataset: ``<registered_model_prefix><dataset>``."""
    return f"{params.pipeline.registered_model_prefix}{dataset}"


def pip_requirements() -> list[str]:
    """Pin the serving requirements at the versions that trained the model."""
    from importlib.metadata import version

    return [f"{name}=={version(name)}" for name in SERVING_REQUIREMENTS]


# --------------------------------------------------------------------------- the shipped code


@dataclass
class ModuleImports:
    """What one module imports: seqlab modules (any depth) and the roots of others at module level."""

    modules: set[str] = field(default_factory=set)
    top_level_roots: set[tuple[str, int]] = field(default_factory=set)  # (root package, line)
    renamed_lines: set[int] = field(default_factory=set)  # lines holding an absolute seqlab import


def module_file(name: str, source: Path = SOURCE) -> Path:
    """Return the source file of seqlab module ``name`` (a package: its ``__init__.py``)."""
    parts = name.split(".")[1:]
    if not parts:
        return source / "__init__.py"
    relative = Path(*parts)
    for candidate in (source / relative.with_suffix(".py"), source / relative / "__init__.py"):
        if candidate.is_file():
            return candidate
    raise ValueError(f"{name}: no such module under {source}")


def _is_module(name: str, source: Path) -> bool:
    try:
        module_file(name, source)
    except ValueError:
        return False
    return True


def _scan(name: str, source: Path) -> ModuleImports:
    """Read a module's imports from its syntax tree (inside functions too: seqlab imports lazily)."""
    file = module_file(name, source)
    tree = ast.parse(file.read_text(encoding="utf-8"), filename=str(file))
    found = ModuleImports()
    package = name.split(".") if file.name == "__init__.py" else name.split(".")[:-1]

    def add(module: str, names: list[str], line: int) -> None:
        if not _is_module(module, source):
            raise ValueError(f"{file}, line {line}: {module} is not a module of {PACKAGE}")
        for imported in names:
            if _is_module(f"{module}.{imported}", source):
                found.modules.add(f"{module}.{imported}")
            elif module_file(module, source).name == "__init__.py" and module != PACKAGE:
                # the shipped copy gets an empty __init__: import the name from its own module
                raise ValueError(
                    f"{file}, line {line}: served code imports {imported} from the package {module}; "
                    "import it from the module that defines it"
                )
            else:
                found.modules.add(module)

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            lazy = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.Import):
                for alias in child.names:
                    root = alias.name.split(".")[0]
                    if root == PACKAGE:
                        if alias.asname is None or len(child.names) > 1:
                            raise ValueError(
                                f"{file}, line {child.lineno}: served code must import {alias.name} as "
                                "`from ... import ...` or `import ... as ...`, alone on its line"
                            )
                        add(alias.name, [], child.lineno)
                        found.modules.add(alias.name)
                        found.renamed_lines.add(child.lineno)
                    elif not in_function:
                        found.top_level_roots.add((root, child.lineno))
            elif isinstance(child, ast.ImportFrom):
                names = [alias.name for alias in child.names]
                if child.level:
                    anchor = package[: len(package) - child.level + 1]
                    add(".".join([*anchor, child.module] if child.module else anchor), names, child.lineno)
                elif (child.module or "").split(".")[0] == PACKAGE:
                    add(str(child.module), names, child.lineno)
                    found.renamed_lines.add(child.lineno)
                elif not in_function:
                    found.top_level_roots.add(((child.module or "").split(".")[0], child.lineno))
            visit(child, lazy)

    visit(tree, False)
    return found


def shipped_modules(roots: tuple[str, ...] | None = None, source: Path = SOURCE) -> dict[str, ModuleImports]:
    """Every seqlab module the served code imports, transitively, from ``roots`` (the serving module's).

    Raises ValueError naming the file and line of an import the shipped code could not satisfy: a
    module-level import of a package that is not a serving requirement.
    """
    if roots is None:
        from seqlab.serving.model import LAYER_MODULES

        roots = (SERVING, *LAYER_MODULES)  # the layer modules are imported by name
    allowed = {*SHIPPED_IMPORTS, *sys.stdlib_module_names, PACKAGE, "__future__"}
    found: dict[str, ModuleImports] = {}
    pending = list(roots)
    while pending:
        name = pending.pop()
        if name in found:
            continue
        found[name] = imports = _scan(name, source)
        for root, line in sorted(imports.top_level_roots):
            if root not in allowed:
                raise ValueError(
                    f"{module_file(name, source)}, line {line}: served code imports {root}; it may "
                    f"import only the standard library, seqlab and {', '.join(SHIPPED_IMPORTS)}"
                )
        pending.extend(imports.modules)
    return found


_ABSOLUTE = re.compile(rf"^(\s*(?:from|import)\s+){PACKAGE}\b")


def stage_code(folder: Path, roots: tuple[str, ...] | None = None, source: Path = SOURCE) -> Path:
    """Copy the served code into ``folder/seqlab_champion``, renaming its ``seqlab`` imports; return it.

    Every package folder gets an empty ``__init__.py``: seqlab's own would import far more.
    """
    target = folder / SHIPPED_PACKAGE
    for name, imports in shipped_modules(roots, source).items():
        file = module_file(name, source)
        if file.name == "__init__.py":
            raise ValueError(f"{file}: served code must not need a package's __init__ ({name})")
        lines = file.read_text(encoding="utf-8").splitlines(keepends=True)
        for number in imports.renamed_lines:
            lines[number - 1] = _ABSOLUTE.sub(rf"\g<1>{SHIPPED_PACKAGE}", lines[number - 1], count=1)
        destination = target / file.relative_to(source)
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_text("".join(lines), encoding="utf-8")
    for package in [target, *(path for path in target.rglob("*") if path.is_dir())]:
        if package.name != "__pycache__" and not (package / "__init__.py").exists():
            (package / "__init__.py").write_text(STUB, encoding="utf-8")
    return target


# --------------------------------------------------------------------------- logging


def serving_spec(
    data: PreparedData, hyperparameters: dict[str, Any], combination: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Return the spec a served model reads: format, modality and dataset, then what the data says.

    ``combination``: the evaluation's forecast combination when that, not the model alone, is served.
    """
    from seqlab.modalities import modality
    from seqlab.serving.model import SPEC_FORMAT, check_spec

    served = data.served_baselines
    if combination is not None and str(combination["baseline"]) not in served:
        raise ValueError(
            f"{data.dataset.name}: {combination['baseline']}: a served combination reruns "
            + (", ".join(served) + " only" if served else "nothing here (only series combine)")
        )
    spec = {
        "format": SPEC_FORMAT,
        "modality": modality(data.dataset).name,
        "dataset": data.dataset.name,
        "kind": data.dataset.source.kind,
        **data.serving_spec(hyperparameters, combination),
    }
    return dict(check_spec(spec))


def log_champion(
    tracker: Tracker,
    run_id: str,
    data: PreparedData,
    model_file: Path,
    hyperparameters: dict[str, Any],
    combination: dict[str, Any] | None = None,
) -> str:
    """Log a trained variant on its run as a pyfunc that takes raw inputs; return its ``models:/`` URI.

    With ``combination`` the pyfunc serves that forecast combination of the variant and a baseline.
    """
    from seqlab.serving.model import MODEL_ARTIFACT, SPEC_ARTIFACT, output_columns

    spec = serving_spec(data, hyperparameters, combination)
    with tempfile.TemporaryDirectory(prefix="seqlab-champion-") as folder:
        staged = Path(folder)
        code = stage_code(staged / "code")
        spec_file = staged / f"{SPEC_ARTIFACT}.json"
        spec_file.write_text(json.dumps(spec, indent=2), encoding="utf-8")
        artifacts = {
            MODEL_ARTIFACT: str(model_file),
            SPEC_ARTIFACT: str(spec_file),
            **{name: str(path) for name, path in data.serving_files().items()},
        }
        return tracker.log_pyfunc_model(
            run_id,
            serving_module=SERVING,
            shipped_package=SHIPPED_PACKAGE,
            artifacts=artifacts,
            code_paths=[code],
            input_example=data.input_example(hyperparameters, combination),
            output_columns=output_columns(spec),
            pip_requirements=pip_requirements(),
        )
