"""Bad inputs a hostile or careless user gives sparsesim, each with the exit code and the message fragment the
error contract promises (README "Exit codes"). tests/test_hardening_inputs.py runs every case through
`sparsesim.cli.main` in a temporary working folder and checks: the exit code, exactly one `error:` line on
stderr containing the fragment, no traceback, and not one file written, changed or removed.

A case is (id, files, argv, code, fragment). `files` maps a path (relative to the working folder) to its
text (or bytes); `{tmp}` in texts and argv is replaced by the test's temporary folder (the parent of the
working folder, so a write outside the working folder is seen too).
"""

from __future__ import annotations

from dataclasses import dataclass, field

TINY = "model: tiny_cnn\nsparsity: {pattern: nm, n: 2, m: 4}\ntarget: sat\n"
MOBILE = "model: tiny_cnn\nsparsity: {pattern: block, sparsity: 0.9}\ntarget: mobile\n"


@dataclass(frozen=True)
class Case:
    id: str
    files: dict[str, str | bytes]
    argv: tuple[str, ...]
    code: int
    fragment: str
    dirs: tuple[str, ...] = field(default=())  # folders to create first


def wl(id_: str, text: str, fragment: str, cmd: str = "validate", code: int = 2, extra=()) -> Case:
    """A workload file `w.yaml` with `text`, given to `cmd`."""
    return Case(id_, {"w.yaml": text}, (cmd, "w.yaml", *extra), code, fragment)


def field_case(id_: str, section: str, key: str, value: str, fragment: str) -> Case:
    """TINY with `section.key: value` (section '' = top level)."""
    if section:
        text = TINY + f"{section}:\n  {key}: {value}\n"
    else:
        text = TINY + f"{key}: {value}\n"
    return wl(id_, text, fragment)


CASES: list[Case] = []
add = CASES.append

# ------------------------------------------------------------------------------- YAML syntax and structure
for id_, text, frag in [
    ("empty-file", "", "empty workload"),
    ("only-comment", "# nothing\n", "empty workload"),
    ("top-level-list", "- model\n- sat\n", "the top level must be a mapping"),
    ("top-level-scalar", "resnet50\n", "the top level must be a mapping"),
    ("top-level-number", "42\n", "the top level must be a mapping"),
    ("unclosed-flow", "model: [tiny_cnn\nsparsity: dense\n", "invalid YAML"),
    ("bad-indent", "model: tiny_cnn\n  sparsity: dense\n target: sat\n", "invalid YAML"),
    ("tab-indent", "model:\n\tname: tiny_cnn\n", "invalid YAML"),
    ("undefined-alias", TINY + "name: *nope\n", "invalid YAML"),
    ("python-tag", TINY + "name: !!python/object/apply:os.system [echo hi]\n", "invalid YAML"),
    ("unknown-tag", TINY + "name: !custom x\n", "invalid YAML"),
    ("two-documents", TINY + "---\n" + TINY, "invalid YAML"),
    ("unhashable-key", TINY + "? [a, b]\n: 1\n", "invalid YAML"),
    ("dup-top-key", TINY + "target: mobile\n", "duplicate key 'target'"),
    ("dup-model", "model: tiny_cnn\nmodel: resnet50\nsparsity: dense\ntarget: sat\n", "duplicate key 'model'"),
    ("dup-nested-flow", "model: tiny_cnn\nsparsity: {pattern: nm, n: 2, m: 4, m: 8}\ntarget: sat\n",
     "duplicate key 'sparsity.m'"),
    ("dup-nested-block", TINY + "accelerator:\n  rows: 8\n  cols: 8\n  rows: 16\n", "duplicate key 'accelerator.rows'"),
    ("dup-deep", TINY + "accelerator:\n  optimisations:\n    interleave: true\n    interleave: false\n",
     "duplicate key 'accelerator.optimisations.interleave'"),
    ("dup-in-overrides", "model: tiny_cnn\nsparsity:\n  pattern: nm\n  n: 2\n  m: 4\n  overrides:\n    'a*': {n: 1}\n"
     "    'a*': {n: 2}\ntarget: sat\n", "duplicate key"),
    ("dup-kwargs", TINY + "name: x\n" + "task: {mode: train}\n" + "task: {mode: infer}\n", "duplicate key 'task'"),
    ("alias-bomb", TINY + "name: x\n" + "model_kw: &a [1,1,1,1,1,1,1,1,1,1]\n" + "".join(
        f"l{i}: &a{i} [{', '.join(['*a' if i == 0 else f'*a{i - 1}'] * 10)}]\n" for i in range(7)),
     "values once aliases are expanded"),
    ("alias-bomb-in-kwargs", "model: {name: tiny_cnn, kwargs: {x: &a [[1,1,1,1,1,1,1,1,1,1]]}}\nsparsity: dense\n"
     "target: sat\n" + "".join(
        f"b{i}: &b{i} [{', '.join(['*a' if i == 0 else f'*b{i - 1}'] * 10)}]\n" for i in range(6)),
     "values once aliases are expanded"),
    ("deep-flow", "model: " + "[" * 5000 + "]" * 5000 + "\nsparsity: dense\ntarget: sat\n", "nested more than"),
    ("deep-block", TINY + "mobile:\n" + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(60)) + "  " * 61 + "v: 1\n",
     "nested more than"),
    ("deep-mapping-flow", "model: " + "{a: " * 200 + "1" + "}" * 200 + "\nsparsity: dense\ntarget: sat\n",
     "nested more than"),
    ("binary-nul", b"model: tiny_cnn\x00\nsparsity: dense\n", "binary file"),
    ("not-utf8", b"model: tiny_cnn\nname: caf\xe9\nsparsity: dense\ntarget: sat\n", "not UTF-8"),
    ("huge-file", TINY + "# " + "x" * (1 << 20) + "\n", "larger than 1024 KiB"),
    ("date-as-name", TINY + "name: 2024-01-01\n", "name: input should be a valid string"),
    ("binary-tag-name", TINY + "name: !!binary aGVsbG8=\n", "name: input should be a valid string"),
]:
    add(wl(id_, text, frag))

add(Case("missing-file", {}, ("validate", "nope.yaml"), 2, "nope.yaml: no such file"))
add(Case("file-is-folder", {}, ("validate", "d"), 2, "d: is a folder", dirs=("d",)))
add(Case("device-file", {}, ("validate", "/dev/null"), 2, "/dev/null: not a regular file"))
add(Case("name-too-long-path", {}, ("validate", "x" * 300 + ".yaml"), 2, "File name too long"))
add(Case("path-through-file", {"f": "x"}, ("validate", "f/w.yaml"), 2, "f/w.yaml"))

# --------------------------------------------------------------------------------- strict types per field
INT_FIELDS = [
    ("model", "input_size", "model.input_size"),
    ("model", "seq_len", "model.seq_len"),
    ("model", "num_classes", "model.num_classes"),
    ("model", "seed", "model.seed"),
    ("task", "batch_size", "task.batch_size"),
    ("accelerator", "rows", "accelerator.rows"),
    ("accelerator", "cols", "accelerator.cols"),
    ("accelerator", "multipliers_per_pe", "accelerator.multipliers_per_pe"),
    ("accelerator", "max_m", "accelerator.max_m"),
    ("accelerator", "mul_latency_cycles", "accelerator.mul_latency_cycles"),
    ("accelerator", "add_latency_cycles", "accelerator.add_latency_cycles"),
    ("accelerator", "act_buffer_kib", "accelerator.act_buffer_kib"),
    ("accelerator", "weight_buffer_kib", "accelerator.weight_buffer_kib"),
    ("accelerator", "out_buffer_kib", "accelerator.out_buffer_kib"),
    ("accelerator", "grad_buffer_kib", "accelerator.grad_buffer_kib"),
    ("accelerator", "dram_channels", "accelerator.dram_channels"),
    ("accelerator", "dram_mts", "accelerator.dram_mts"),
    ("accelerator", "dram_bus_bits", "accelerator.dram_bus_bits"),
    ("accelerator", "sorter_lanes", "accelerator.sorter_lanes"),
    ("accelerator", "wu_lanes", "accelerator.wu_lanes"),
    ("accelerator", "vector_lanes", "accelerator.vector_lanes"),
    ("mobile", "threads", "mobile.threads"),
]


def _model_field(key: str, value: str) -> str:
    return f"model: {{name: tiny_cnn, {key}: {value}}}\nsparsity: dense\ntarget: sat\n"


for section, key, path in INT_FIELDS:
    for tag, value, frag in [
        ("bool", "true", "must not be a boolean"),
        ("string", '"32"', "input should be a valid integer"),
        ("float", "2.5", "input should be a valid integer"),
    ]:
        id_ = f"{path}-{tag}"
        if section == "model":
            add(wl(id_, _model_field(key, value), f"{path}: {frag}"))
        else:
            add(field_case(id_, section, key, value, f"{path}: {frag}"))

for path, text in [
    ("sparsity.n", "model: tiny_cnn\nsparsity: {pattern: nm, n: true, m: 4}\ntarget: sat\n"),
    ("sparsity.m", "model: tiny_cnn\nsparsity: {pattern: nm, n: 1, m: true}\ntarget: sat\n"),
    ("sparsity.group_size", "model: tiny_cnn\nsparsity: {pattern: group, sparsity: 0.5, group_size: true}\ntarget: mobile\n"),
    ("sparsity.block_size", "model: tiny_cnn\nsparsity: {pattern: block, sparsity: 0.5, block_size: true}\ntarget: mobile\n"),
    ("mobile.spmm_mr", MOBILE + "mobile: {spmm_mr: true}\n"),
    ("mobile.spmm_block", MOBILE + "mobile: {spmm_block: true}\n"),
]:
    add(wl(f"{path}-bool", text, f"{path}: must not be a boolean"))

for path, text, frag in [
    ("sparsity.sparsity-bool", "model: tiny_cnn\nsparsity: {pattern: block, sparsity: true}\ntarget: mobile\n",
     "sparsity.sparsity: must not be a boolean"),
    ("sparsity.sparsity-string", "model: tiny_cnn\nsparsity: {pattern: block, sparsity: '0.9'}\ntarget: mobile\n",
     "sparsity.sparsity: input should be a valid number"),
    ("optimizer.lr-bool", TINY + "task: {optimizer: {lr: true}}\n", "task.optimizer.lr: must not be a boolean"),
    ("accelerator.clock_mhz-string", TINY + "accelerator: {clock_mhz: '200'}\n",
     "accelerator.clock_mhz: input should be a valid number"),
    ("optimisations.interleave-string", TINY + "accelerator: {optimisations: {interleave: 'false'}}\n",
     "accelerator.optimisations.interleave: input should be a valid boolean"),
    ("optimisations.interleave-int", TINY + "accelerator: {optimisations: {interleave: 0}}\n",
     "accelerator.optimisations.interleave: input should be a valid boolean"),
    ("keep_first_dense-int", "model: tiny_cnn\nsparsity: {pattern: nm, n: 2, m: 4, keep_first_dense: 1}\ntarget: sat\n",
     "sparsity.keep_first_dense: input should be a valid boolean"),
    ("rearrange-string", "model: tiny_cnn\nsparsity: {pattern: group, sparsity: 0.5, rearrange: 'yes'}\ntarget: mobile\n",
     "sparsity.rearrange: input should be a valid boolean"),
    ("include-not-list", "model: tiny_cnn\nsparsity: {pattern: nm, n: 2, m: 4, include: conv1}\ntarget: sat\n",
     "sparsity.include: input should be a valid list"),
    ("include-int-items", "model: tiny_cnn\nsparsity: {pattern: nm, n: 2, m: 4, include: [1, 2]}\ntarget: sat\n",
     "sparsity.include[0]: input should be a valid string"),
    ("input_shape-strings", "model: {name: tiny_cnn, input_shape: ['3', '32']}\nsparsity: dense\ntarget: sat\n",
     "model.input_shape[0]: input should be a valid integer"),
    ("kwargs-not-mapping", "model: {name: tiny_cnn, kwargs: [1]}\nsparsity: dense\ntarget: sat\n",
     "model.kwargs: input should be a valid dictionary"),
    ("model-number", "model: 5\nsparsity: dense\ntarget: sat\n", "model: input should be a valid dictionary"),
    ("model-list", "model: [tiny_cnn]\nsparsity: dense\ntarget: sat\n", "model: input should be a valid dictionary"),
    ("sparsity-number", "model: tiny_cnn\nsparsity: 5\ntarget: sat\n", "sparsity: input should be a valid dictionary"),
    ("task-list", TINY + "task: [train]\n", "task: input should be a valid dictionary"),
    ("target-bool", "model: tiny_cnn\nsparsity: dense\ntarget: true\n", "target: must not be a boolean"),
    ("target-case", "model: tiny_cnn\nsparsity: dense\ntarget: SAT\n", "target: must be one of"),
    ("pattern-typo", "model: tiny_cnn\nsparsity: {pattern: nn, n: 2, m: 4}\ntarget: sat\n", "sparsity.pattern: must be one of"),
    ("dataflow-bad", TINY + "accelerator: {dataflow: wsos}\n", "accelerator.dataflow: must be one of"),
    ("precision-bad", TINY + "accelerator: {precision: fp32}\n", "accelerator.precision: must be one of"),
    ("soc-bad", MOBILE + "mobile: {soc: snapdragon888}\n", "mobile.soc: must be one of"),
    ("mode-bad", TINY + "task: {mode: finetune}\n", "task.mode: must be one of"),
    ("output-dir-int", TINY + "output: {dir: 5}\n", "output.dir: input should be a valid string"),
]:
    add(wl(path, text, frag))

# ------------------------------------------------------------------------------------ non-finite numbers
for path, text in [
    ("task.optimizer.lr", TINY + "task: {optimizer: {lr: .inf}}\n"),
    ("task.optimizer.momentum", TINY + "task: {optimizer: {momentum: .nan}}\n"),
    ("task.optimizer.weight_decay", TINY + "task: {optimizer: {weight_decay: .inf}}\n"),
    ("task.optimizer.srste_decay", TINY + "task: {optimizer: {srste_decay: .NaN}}\n"),
    ("accelerator.clock_mhz", TINY + "accelerator: {clock_mhz: .inf}\n"),
    ("accelerator.dram_latency_ns", TINY + "accelerator: {dram_latency_ns: .nan}\n"),
    ("sparsity.sparsity", "model: tiny_cnn\nsparsity: {pattern: block, sparsity: .nan}\ntarget: mobile\n"),
    ("mobile.clock_mhz", MOBILE + "mobile: {clock_mhz: .inf}\n"),
    ("mobile.dram_bandwidth_gbs", MOBILE + "mobile: {dram_bandwidth_gbs: .inf}\n"),
    ("mobile.dram_efficiency", MOBILE + "mobile: {dram_efficiency: .nan}\n"),
    ("mobile.sparse_min_zero_fraction", MOBILE + "mobile: {sparse_min_zero_fraction: -.inf}\n"),
    ("mobile.group_min_zero_fraction", MOBILE + "mobile: {group_min_zero_fraction: .nan}\n"),
]:
    add(wl(f"{path}-nonfinite", text, f"{path}: input should be a finite number"))
add(wl("kwargs-inf", "model: {name: tiny_cnn, kwargs: {scale: .inf}}\nsparsity: dense\ntarget: sat\n",
       "model.kwargs: kwargs.scale: must be a finite number"))
add(wl("kwargs-nested-nan", "model: {name: tiny_cnn, kwargs: {a: [1, {b: .nan}]}}\nsparsity: dense\ntarget: sat\n",
       "must be a finite number"))
add(wl("kwargs-int-key", "model: {name: tiny_cnn, kwargs: {a: {1: x}}}\nsparsity: dense\ntarget: sat\n",
       "keys must be strings"))
add(wl("float-overflow", TINY + "accelerator: {clock_mhz: 1e400}\n", "accelerator.clock_mhz: input should be a finite number"))

# ------------------------------------------------------------------------------------------ out of range
for id_, text, frag in [
    ("num_classes-1e15-float", _model_field("num_classes", "1e15"), "model.num_classes: input should be a valid integer"),
    ("num_classes-10e15", _model_field("num_classes", "1000000000000000"), "model.num_classes: input should be less than or equal to 100000"),
    ("num_classes-0", _model_field("num_classes", "0"), "model.num_classes: input should be greater than or equal to 1"),
    ("input_size-huge", _model_field("input_size", "100000"), "model.input_size: input should be less than or equal to 4096"),
    ("input_size-tiny", _model_field("input_size", "2"), "model.input_size: input should be greater than or equal to 8"),
    ("seq_len-huge", _model_field("seq_len", "1000000"), "model.seq_len: input should be less than or equal to 8192"),
    ("seed-negative", _model_field("seed", "-1"), "model.seed: input should be greater than or equal to 0"),
    ("seed-2e64", _model_field("seed", str(2**64)), "model.seed: input should be less than or equal to 4294967295"),
    ("seed-10e100", _model_field("seed", "1" + "0" * 100), "model.seed: input should be less than or equal to"),
    ("input_shape-empty", _model_field("input_shape", "[]"), "model.input_shape: list should have at least 1 item"),
    ("input_shape-zero", _model_field("input_shape", "[3, 0]"), "model.input_shape: must be a non-empty list of sizes"),
    ("input_shape-huge-dim", _model_field("input_shape", "[3, 100000]"), "model.input_shape: must be a non-empty list of sizes"),
    ("input_shape-5-dims", _model_field("input_shape", "[1, 1, 1, 1, 1]"), "model.input_shape: list should have at most 4 items"),
    ("input_shape-too-many-elements", _model_field("input_shape", "[16384, 16384]"), "at most 67,108,864 elements"),
    ("batch-0", TINY + "task: {batch_size: 0}\n", "task.batch_size: input should be greater than or equal to 1"),
    ("batch-negative", TINY + "task: {batch_size: -32}\n", "task.batch_size: input should be greater than or equal to 1"),
    ("batch-huge", TINY + "task: {batch_size: 1000000000}\n", "task.batch_size: input should be less than or equal to 65536"),
    ("rows-0", TINY + "accelerator: {rows: 0}\n", "accelerator.rows: input should be greater than or equal to 1"),
    ("rows-huge", TINY + "accelerator: {rows: 1000000000000}\n", "accelerator.rows: input should be less than or equal to 256"),
    ("cols-257", TINY + "accelerator: {cols: 257}\n", "accelerator.cols: input should be less than or equal to 256"),
    ("buffer-huge", TINY + "accelerator: {act_buffer_kib: 1099511627776}\n", "accelerator.act_buffer_kib: input should be less than or equal to 1048576"),
    ("buffer-0", TINY + "accelerator: {weight_buffer_kib: 0}\n", "accelerator.weight_buffer_kib: input should be greater than or equal to 1"),
    ("dram_mts-huge", TINY + "accelerator: {dram_mts: 1000000000}\n", "accelerator.dram_mts: input should be less than or equal to 12800"),
    ("dram_bus-huge", TINY + "accelerator: {dram_bus_bits: 65536}\n", "accelerator.dram_bus_bits: input should be less than or equal to 1024"),
    ("dram_latency-huge", TINY + "accelerator: {dram_latency_ns: 1e12}\n", "accelerator.dram_latency_ns: input should be less than or equal to 10000"),
    ("clock-negative", TINY + "accelerator: {clock_mhz: -200}\n", "accelerator.clock_mhz: input should be greater than 0"),
    ("clock-huge", TINY + "accelerator: {clock_mhz: 1e9}\n", "accelerator.clock_mhz: input should be less than or equal to 1000"),
    ("lanes-huge", TINY + "accelerator: {vector_lanes: 1000000}\n", "accelerator.vector_lanes: input should be less than or equal to 4096"),
    ("threads-0", MOBILE + "mobile: {threads: 0}\n", "mobile.threads: input should be greater than or equal to 1"),
    ("threads-9", MOBILE + "mobile: {threads: 9}\n", "mobile.threads: input should be less than or equal to 8"),
    ("bandwidth-huge", MOBILE + "mobile: {dram_bandwidth_gbs: 1e9}\n", "mobile.dram_bandwidth_gbs: input should be less than or equal to 1000"),
    ("efficiency-2", MOBILE + "mobile: {dram_efficiency: 2}\n", "mobile.dram_efficiency: input should be less than or equal to 1"),
    ("lr-huge", TINY + "task: {optimizer: {lr: 1e30}}\n", "task.optimizer.lr: input should be less than or equal to 100"),
    ("momentum-1", TINY + "task: {optimizer: {momentum: 1}}\n", "task.optimizer.momentum: input should be less than 1"),
    ("sparsity-1", "model: tiny_cnn\nsparsity: {pattern: block, sparsity: 1.0}\ntarget: mobile\n", "sparsity.sparsity: input should be less than 1"),
    ("sparsity-0", "model: tiny_cnn\nsparsity: {pattern: block, sparsity: 0}\ntarget: mobile\n", "sparsity.sparsity: input should be greater than 0"),
    ("m-huge", "model: tiny_cnn\nsparsity: {pattern: nm, n: 2, m: 1024}\ntarget: sat\n", "sparsity.m: input should be less than or equal to 256"),
    ("n-huge", "model: tiny_cnn\nsparsity: {pattern: nm, n: 100000, m: 4}\ntarget: sat\n", "sparsity.n: input should be less than or equal to 256"),
    ("m-not-pow2", "model: tiny_cnn\nsparsity: {pattern: nm, n: 2, m: 6}\ntarget: sat\n", "sparsity.m: must be a power of two"),
    ("n-gt-m", "model: tiny_cnn\nsparsity: {pattern: bdwp, n: 5, m: 4}\ntarget: sat\n", "sparsity.n: must be <= sparsity.m"),
    ("nm-without-n", "model: tiny_cnn\nsparsity: {pattern: nm, m: 4}\ntarget: sat\n", "sparsity.n: required"),
    ("group-without-sparsity", "model: tiny_cnn\nsparsity: {pattern: group}\ntarget: mobile\n", "sparsity.sparsity: required"),
    ("unstructured-block2", "model: tiny_cnn\nsparsity: {pattern: unstructured, sparsity: 0.5, block_size: 2}\ntarget: mobile\n",
     "sparsity.block_size: must be 1"),
    ("block_size-3", "model: tiny_cnn\nsparsity: {pattern: block, sparsity: 0.5, block_size: 3}\ntarget: mobile\n",
     "sparsity.block_size: must be one of"),
    ("group_size-huge", "model: tiny_cnn\nsparsity: {pattern: group, sparsity: 0.5, group_size: 4096}\ntarget: mobile\n",
     "sparsity.group_size: input should be less than or equal to 64"),
    ("override-m-bad", "model: tiny_cnn\nsparsity:\n  pattern: nm\n  n: 2\n  m: 4\n  overrides: {'fc*': {m: 3}}\ntarget: sat\n",
     "sparsity.overrides['fc*'].m: must be a power of two"),
    ("override-unknown-key", "model: tiny_cnn\nsparsity:\n  pattern: nm\n  n: 2\n  m: 4\n  overrides: {'fc*': {mm: 3}}\ntarget: sat\n",
     "unknown field"),
    ("too-many-globs", "model: tiny_cnn\nsparsity: {pattern: nm, n: 2, m: 4, exclude: [" + ", ".join(["a"] * 1001) + "]}\ntarget: sat\n",
     "sparsity.exclude: list should have at most 1000 items"),
]:
    add(wl(id_, text, frag))

# ------------------------------------------------------------------------------------------------- names
for id_, value, frag in [
    ("name-parent", "../../x", "name: must be a plain name, not a path"),
    ("name-absolute", "{tmp}/abs", "name: must be a plain name, not a path"),
    ("name-dotdot", "'..'", "name: must not start with '.'"),
    ("name-dot", "'.'", "name: must not start with '.'"),
    ("name-hidden", ".hidden", "name: must not start with '.'"),
    ("name-subdir", "a/b", "name: must be a plain name, not a path"),
    ("name-backslash", "'a\\b'", "name: must be a plain name, not a path"),
    ("name-nul", '"a\\0b"', "name: must not contain control characters"),
    ("name-tab", '"a\\tb"', "name: must not contain control characters"),
    ("name-newline", '"a\\nb"', "name: must not contain control characters"),
    ("name-escape", '"\\e[31mred"', "name: must not contain control characters"),
    ("name-del", '"a\\x7fb"', "name: must not contain control characters"),
    ("name-300", "x" * 300, "name: must be at most 100 characters"),
    ("name-101", "y" * 101, "name: must be at most 100 characters"),
    ("name-multibyte-long", "é" * 60, "name: must be at most 100 characters"),
    ("name-empty", "''", "name: name must not be empty"),
    ("name-blank", "'   '", "name: name must not be empty"),
    ("name-int", "12", "name: input should be a valid string"),
    ("name-list", "[a, b]", "name: input should be a valid string"),
    ("name-mapping", "{a: 1}", "name: input should be a valid string"),
]:
    add(wl(id_, TINY + f"name: {value}\n", frag, cmd="run"))
add(Case("stem-hidden", {".w.yaml": TINY}, ("validate", ".w.yaml"), 2, "the run name defaults to the file's name '.w'"))
add(wl("output-dir-nul", TINY + 'output: {dir: "out\\0x"}\n', "output.dir: must not contain control characters", cmd="run"))
add(wl("output-dir-empty", TINY + "output: {dir: ''}\n", "output.dir: string should have at least 1 character", cmd="run"))
add(wl("checkpoint-nul", 'model: {name: tiny_cnn, checkpoint: "a\\0b"}\nsparsity: dense\ntarget: sat\n',
       "model.checkpoint: must not contain control characters"))
add(wl("model-name-nul", 'model: "tiny\\0cnn"\nsparsity: dense\ntarget: sat\n', "model.name: must not contain control characters"))
add(wl("checkpoint-missing", "model: {name: tiny_cnn, checkpoint: nope.pt}\nsparsity: dense\ntarget: sat\n",
       "checkpoint file not found"))
add(wl("checkpoint-name-too-long", "model: {name: tiny_cnn, checkpoint: " + "c" * 300 + ".pt}\nsparsity: dense\ntarget: sat\n",
       "File name too long"))
add(wl("onnx-missing", "model: nope.onnx\nsparsity: dense\ntarget: sat\n", "ONNX file not found"))
add(wl("onnx-name-too-long", "model: " + "o" * 300 + ".onnx\nsparsity: dense\ntarget: sat\n", "File name too long"))

# ----------------------------------------------------------------------------------------- unknown keys
for id_, text, frag in [
    ("unknown-top", TINY + "targt: sat\n", "targt: unknown field"),
    ("unknown-top-case", TINY + "Name: x\n", "Name: unknown field (did you mean 'name'?"),
    ("unknown-model", "model: {name: tiny_cnn, weights: x}\nsparsity: dense\ntarget: sat\n", "model.weights: unknown field"),
    ("unknown-accelerator", TINY + "accelerator: {rowss: 8}\n", "accelerator.rowss: unknown field (did you mean 'rows'?"),
    ("unknown-output", TINY + "output: {path: x}\n", "output.path: unknown field"),
    ("unknown-optimisation", TINY + "accelerator: {optimisations: {prefetch: true}}\n", "accelerator.optimisations.prefetch: unknown field"),
    ("missing-target", "model: tiny_cnn\nsparsity: dense\n", "target: required field is missing"),
    ("missing-model", "sparsity: dense\ntarget: sat\n", "model: required field is missing"),
    ("unknown-model-name", "model: resnet5\nsparsity: dense\ntarget: sat\n", "model.name: unknown model 'resnet5'"),
    ("model-empty", "model: ''\nsparsity: dense\ntarget: sat\n", "model.name: must name a model"),
]:
    add(wl(id_, text, frag))

# --------------------------------------------------------------------- sparsity the target cannot run
for id_, text, frag in [
    ("sat-group", "model: tiny_cnn\nsparsity: {pattern: group, sparsity: 0.5}\ntarget: sat\n",
     "sparsity.pattern: 'group' sparsity cannot run on target sat"),
    ("sat-block", "model: tiny_cnn\nsparsity: {pattern: block, sparsity: 0.9}\ntarget: sat\n",
     "sparsity.pattern: 'block' sparsity cannot run on target sat"),
    ("sat-unstructured", "model: tiny_cnn\nsparsity: {pattern: unstructured, sparsity: 0.9}\ntarget: sat\n",
     "sparsity.pattern: 'unstructured' sparsity cannot run on target sat"),
    ("sat-override-group", "model: tiny_cnn\nsparsity:\n  pattern: nm\n  n: 2\n  m: 4\n  overrides: {'fc*': {pattern: group, sparsity: 0.5}}\ntarget: sat\n",
     "sparsity.overrides['fc*'].pattern: 'group' sparsity cannot run on target sat"),
    ("sat-nm-unsupported", "model: tiny_cnn\nsparsity: {pattern: nm, n: 1, m: 32}\ntarget: sat\n",
     "accelerator.max_m: the array cannot run 1:32 sparse"),
]:
    add(wl(id_, text, frag, cmd="run"))
    add(wl(f"validate-{id_}", text, frag))  # validate refuses what run would refuse

# ----------------------------------------------------------------------------------------- output folders
FOREIGN = {"w.yaml": TINY, "project/keep.txt": "mine"}
for id_, argv, frag in [
    ("run-into-foreign-folder", ("run", "w.yaml", "-o", "project"), "--output project: folder exists and was not written by sparsesim"),
    ("run-into-cwd", ("run", "w.yaml", "-o", "."), "--output .: folder exists and was not written by sparsesim"),
    ("run-onto-file", ("run", "w.yaml", "-o", "project/keep.txt"), "exists and is not a folder"),
    ("run-under-file", ("run", "w.yaml", "-o", "project/keep.txt/sub"), "is a file, not a folder"),
    ("run-name-too-long", ("run", "w.yaml", "-o", "o" * 300), "longer than 255 bytes"),
    ("run-under-proc", ("run", "w.yaml", "-o", "/proc/sparsesim-out"), "cannot write there"),
    ("prune-save-foreign", ("prune", "w.yaml", "--save", "project"), "--save project: folder exists and was not written by sparsesim"),
    ("prune-save-under-file", ("prune", "w.yaml", "--save", "project/keep.txt/x"), "is a file, not a folder"),
    ("rtl-export-foreign", ("rtl", "export", "w.yaml", "-o", "project"), "--output project: folder exists and was not written"),
    ("fpga-build-foreign", ("fpga", "build", "w.yaml", "-o", "project", "--no-estimate"), "--output project: folder exists and was not written"),
    ("fpga-build-onto-file", ("fpga", "build", "w.yaml", "-o", "project/keep.txt", "--no-estimate"), "exists and is not a folder"),
]:
    add(Case(id_, dict(FOREIGN), argv, 2, frag))
add(Case("run-output-dir-foreign", {"w.yaml": TINY + "output: {dir: project}\n", "project/keep.txt": "mine"},
         ("run", "w.yaml"), 2, "output.dir project: folder exists and was not written by sparsesim"))
add(Case("graph-output-is-folder", {"w.yaml": TINY}, ("graph", "w.yaml", "-o", "d"), 2, "Is a directory", dirs=("d",)))

# -------------------------------------------------------------------------------------------- user models
for id_, files, frag in [
    ("factory-sys-exit", {"w.yaml": 'model: "sys:exit"\nsparsity: dense\ntarget: sat\n'}, "called sys.exit(None)"),
    ("module-exits-on-import", {"w.yaml": 'model: "exits_hard1:make"\nsparsity: dense\ntarget: sat\n',
                                "exits_hard1.py": "import sys\nsys.exit(3)\n"}, "called sys.exit(3)"),
    ("factory-exit-0", {"w.yaml": 'model: "exits_hard2:make"\nsparsity: dense\ntarget: sat\n',
                        "exits_hard2.py": "import sys\ndef make():\n    sys.exit(0)\n"}, "called sys.exit(0)"),
    ("factory-returns-int", {"w.yaml": 'model: "returns_hard1:make"\nsparsity: dense\ntarget: sat\n',
                             "returns_hard1.py": "def make():\n    return 42\n"}, "returned a int"),
    ("factory-returns-str", {"w.yaml": 'model: "os:getcwd"\nsparsity: dense\ntarget: sat\n'}, "returned a str"),
    ("factory-not-callable", {"w.yaml": 'model: "os:sep"\nsparsity: dense\ntarget: sat\n'}, "not a callable factory"),
    ("module-missing", {"w.yaml": 'model: "no_such_module_hard:make"\nsparsity: dense\ntarget: sat\n'}, "cannot import 'no_such_module_hard'"),
    ("factory-bad-kwargs", {"w.yaml": 'model: {name: "returns_hard2:make", kwargs: {width: 3}}\nsparsity: dense\ntarget: sat\n',
                            "returns_hard2.py": "def make():\n    return 42\n"}, "cannot be called with ['width']"),
]:
    add(Case(id_, files, ("prune", "w.yaml"), 2, frag))

# ------------------------------------------------------------------------------------------ command line
for id_, argv, code, frag in [
    ("no-such-command", ("bogus",), 2, "invalid choice: 'bogus'"),
    ("validate-no-file", ("validate",), 2, "the following arguments are required: file"),
    ("bad-format", ("validate", "w.yaml", "--format", "xml"), 2, "invalid choice: 'xml'"),
    ("rtl-export-no-output", ("rtl", "export", "w.yaml"), 2, "the following arguments are required: --output/-o"),
    ("unknown-option", ("run", "w.yaml", "--turbo"), 2, "unrecognized arguments: --turbo"),
    ("fpga-info-dev-null", ("fpga", "info", "--port", "/dev/null"), 2, "--port /dev/null: not a serial port"),
    ("fpga-info-missing-port", ("fpga", "info", "--port", "/dev/nonexistent-tty"), 2, "cannot open /dev/nonexistent-tty"),
    ("fpga-info-folder", ("fpga", "info", "--port", "/tmp"), 2, "cannot open /tmp"),
    ("fpga-info-baud-0", ("fpga", "info", "--port", "/dev/null", "--baud", "0"), 2, "--baud: must be a positive rate"),
    ("fpga-info-baud-text", ("fpga", "info", "--port", "/dev/null", "--baud", "fast"), 2, "invalid int value: 'fast'"),
    ("fpga-build-bad-board", ("fpga", "build", "w.yaml", "--board", "zcu102", "-o", "out", "--no-estimate"), 2, "--board: unknown board"),
]:
    add(Case(id_, {"w.yaml": TINY}, argv, code, frag))

# ---------------------------------------------------------------------------------------------- sweeps
SWEEP = "base: w.yaml\naxes:\n  accelerator.rows: [4, 8]\n"
for id_, text, argv_extra, code, frag in [
    ("sweep-dup-key", SWEEP + "axes: {}\n", (), 2, "duplicate key 'axes'"),
    ("sweep-alias-bomb", SWEEP + "x: &a [1,1,1,1,1,1,1,1,1,1]\n" + "".join(
        f"y{i}: &y{i} [{', '.join(['*a' if i == 0 else f'*y{i - 1}'] * 10)}]\n" for i in range(6)), (), 2,
     "values once aliases are expanded"),
    ("sweep-unknown-path", "base: w.yaml\naxes:\n  accelerator.rowz: [4, 8]\n", (), 2, "'accelerator.rowz' is not a workload field"),
    ("sweep-empty-axis", "base: w.yaml\naxes:\n  accelerator.rows: []\n", (), 2, "needs at least one value"),
    ("sweep-zip-unequal", "base: w.yaml\nzip:\n  - sparsity.n: [1, 2]\n    sparsity.m: [4]\n", (), 2, "the lists must have one length"),
    ("sweep-bool-row", "base: w.yaml\naxes:\n  accelerator.rows: [true]\n", (), 2, "accelerator.rows: must not be a boolean"),
    ("sweep-inf-clock", "base: w.yaml\naxes:\n  accelerator.clock_mhz: [.inf]\n", (), 2, "accelerator.clock_mhz: input should be a finite number"),
    ("sweep-name-path", SWEEP + "name: ../../x\n", (), 2, "name: must be a plain name, not a path"),
    ("sweep-name-nul", SWEEP + 'name: "a\\0b"\n', (), 2, "name: must not contain control characters"),
    ("sweep-output-nul", SWEEP + 'output: "a\\0b"\n', (), 2, "output: must not contain control characters"),
    ("sweep-skip-invalid-string", SWEEP + "skip_invalid: 'yes'\n", (), 2, "skip_invalid: input should be a valid boolean"),
    ("sweep-pareto-typo", SWEEP + "pareto: {y: secconds_simulated}\n", (), 2, "pareto.y: no column 'secconds_simulated'"),
    ("sweep-pareto-x-typo", SWEEP + "pareto: {x: dsps}\n", (), 2, "pareto.x: no column 'dsps'"),
    ("sweep-base-missing", "base: nope.yaml\naxes: {accelerator.rows: [4]}\n", (), 2, "no such file"),
    ("sweep-base-inline-bad", "base: {model: tiny_cnn, sparsity: dense, target: gpu}\naxes: {accelerator.rows: [4]}\n", (), 2,
     "base.target: must be one of"),
    ("sweep-not-mapping", "- a\n- b\n", (), 2, "a sweep file is a mapping"),
    ("sweep-sat-group-point", "base: w.yaml\naxes:\n  sparsity: [{pattern: group, sparsity: 0.5}]\n", (), 2,
     "'group' sparsity cannot run on target sat"),
    ("sweep-into-foreign", SWEEP, ("-o", "project"), 2, "--output project: folder exists and was not written by sparsesim"),
    ("sweep-output-field-foreign", SWEEP + "output: project\n", (), 2, "output project: folder exists and was not written"),
    ("sweep-scheduler-garbage", SWEEP, ("--scheduler", "not an address"), 2, "--scheduler 'not an address'"),
    ("sweep-scheduler-http", SWEEP, ("--scheduler", "http://127.0.0.1:8786"), 2, "unknown scheme 'http'"),
    ("sweep-scheduler-no-port", SWEEP, ("--scheduler", "tcp://127.0.0.1"), 2, "needs a host and a port"),
    ("sweep-scheduler-bad-port", SWEEP, ("--scheduler", "tcp://127.0.0.1:99999"), 2, "--scheduler 'tcp://127.0.0.1:99999'"),
    ("sweep-scheduler-port-0", SWEEP, ("--scheduler", "tcp://127.0.0.1:0"), 2, "port 0"),
    ("sweep-scheduler-unreachable", SWEEP, ("--scheduler", "tcp://127.0.0.1:9"), 3, "cannot reach the Dask scheduler"),
    ("sweep-workers-negative", SWEEP, ("--workers", "-1"), 2, "--workers: must be >= 0"),
]:
    add(Case(id_, {"w.yaml": TINY, "s.yaml": text, "project/keep.txt": "mine"}, ("sweep", "s.yaml", *argv_extra), code, frag))
