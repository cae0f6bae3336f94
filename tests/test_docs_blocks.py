"""Every code block of README.md and docs/*.md that is meant to run, runs.

One harness for all the docs. Each ```python block runs as a script, in a
subprocess of the dev environment's Python, in a fresh temporary directory, with
no ``HOOKWIRE_*`` variable of the test run. A marker on the line(s) just above a
block's opening fence changes what happens to it:

- ``<!-- doctest: continue -->``: the block runs after the file's previous
  python block that runs, in the same process and namespace (the chain runs as
  one case, named after its first block);
- ``<!-- doctest: skip (reason) -->``: not run; the reason is required;
- ``<!-- doctest: postgres -->``: needs PostgreSQL; ``HOOKWIRE_TEST_POSTGRES_URL``
  holds the URL of a scratch database (the case skips without the server unless
  ``HOOKWIRE_REQUIRE_SERVICES=1``);
- ``<!-- doctest: pytest -->``: a pytest module that a test of its own runs;
- ``<!-- doctest: output -->`` on the block right after a python block: what that
  block prints, compared with the shown text;
- ``<!-- doctest: run -->`` on a ```sh, ```console, ```shell or ```text block:
  each ``$ command`` line runs in bash (one session per block, in a fresh temporary
  directory, with ``HOOKWIRE_SECRET`` set to the public test secret the CLI docs
  use) and what it prints, stdout and stderr together, is compared with the lines
  shown under it up to the next ``$`` line.

Shown and printed text are compared after masking what differs from run to run
(:data:`MASKS`: ids, UUIDs, clock times, durations, ports, temporary paths, the
version); a shown line of just ``...`` stands for any number of lines.

A failing case is named after its block (``docs/sender.md:123``, the line of the
opening fence), and a traceback points at the line in the Markdown file.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))
WORDS = frozenset({"continue", "skip", "postgres", "pytest", "output", "run"})
SHELL = frozenset({"sh", "console", "shell", "text"})
TEST_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
TIMEOUT = 60
_FENCE = re.compile(r"^```(\w*)\s*$")
_MARKER = re.compile(r"^<!-- doctest: (\w+)(?: \((.*)\))? -->$")
_ANY_MARKER = re.compile(r"<!--\s*doctest")
MASKS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b(evt|wh|msg)_[0-9A-Za-z_-]+"), r"\1_ID"),
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"), "UUID"),
    (re.compile(r"\b\d{1,2}:\d{2}:\d{2}(\.\d+)?\b"), "HH:MM:SS"),
    (re.compile(r"\b\d+(\.\d+)? ?(ms|s)\b"), "DURATION"),
    (re.compile(r"127\.0\.0\.1:\d+"), "127.0.0.1:PORT"),
    (re.compile(r"/tmp/[^\s'\"]+"), "/tmp/PATH"),
    (re.compile(r"hookwire/\d+\.\d+[^\s'\"]*"), "hookwire/VERSION"),
)
"""What differs between runs, masked in shown and printed text alike."""

# Runs a chain of blocks in one namespace; each block is compiled with its file's name
# and padded to its line, so a traceback names the Markdown line. The stdout of each
# block goes to the JSON file named by argv[1], for output checks.
_RUNNER = """
import contextlib, io, json, sys
outputs = []
namespace = {"__name__": "__main__"}
for filename, line, code in json.loads(sys.stdin.read()):
    buffer = io.StringIO()
    try:
        with contextlib.redirect_stdout(buffer):
            exec(compile("\\n" * line + code, filename, "exec"), namespace)
    finally:
        outputs.append(buffer.getvalue())
        sys.stdout.write(buffer.getvalue())
        with open(sys.argv[1], "w", encoding="utf-8") as file:
            json.dump(outputs, file)
"""


@dataclass(frozen=True)
class Block:
    """One fenced block: where it is, its language, its text and its markers."""

    doc: str
    line: int
    language: str
    code: str
    markers: dict[str, str | None] = field(default_factory=dict)

    @property
    def where(self) -> str:
        """``docs/file.md:LINE``, the line of the opening fence."""
        return f"{self.doc}:{self.line}"


@dataclass
class Doc:
    """The blocks of one Markdown file, and what is wrong with its markers."""

    name: str
    blocks: list[Block] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def parse(path: Path, root: Path = ROOT) -> Doc:
    """Read the fenced blocks of ``path`` and the doctest markers above each."""
    doc = Doc(str(path.relative_to(root)))
    lines = path.read_text(encoding="utf-8").splitlines()
    pending: dict[str, str | None] = {}
    pending_line = 0
    index = 0
    while index < len(lines):
        text = lines[index].strip()
        marker = _MARKER.match(text)
        fence = _FENCE.match(lines[index])
        if marker:
            word, reason = marker[1], marker[2]
            if word not in WORDS:
                doc.problems.append(f"{doc.name}:{index + 1}: unknown marker {word!r}")
            elif word == "skip" and not (reason or "").strip():
                doc.problems.append(f"{doc.name}:{index + 1}: a skip marker needs a (reason)")
            pending[word] = reason
            pending_line = pending_line or index + 1
        elif _ANY_MARKER.search(text):
            doc.problems.append(f"{doc.name}:{index + 1}: malformed marker {text!r}")
        elif fence:
            end = index + 1
            while end < len(lines) and lines[end].rstrip() != "```":
                end += 1
            code = "".join(line + "\n" for line in lines[index + 1 : end])
            doc.blocks.append(Block(doc.name, index + 1, fence[1], code, pending))
            pending, pending_line = {}, 0
            index = end
        elif text and pending:
            doc.problems.append(f"{doc.name}:{pending_line}: a marker must stand above a block")
            pending, pending_line = {}, 0
        index += 1
    if pending:
        doc.problems.append(f"{doc.name}:{pending_line}: a marker must stand above a block")
    _check_placement(doc)
    return doc


def _check_placement(doc: Doc) -> None:
    """Markers that cannot apply to their block are problems of the file."""
    previous: Block | None = None
    seen_python = False
    for block in doc.blocks:
        words = set(block.markers)
        if "run" in words and block.language not in SHELL:
            doc.problems.append(f"{block.where}: run is for shell blocks, not {block.language!r}")
        if words & {"continue", "postgres", "pytest"} and block.language != "python":
            doc.problems.append(f"{block.where}: {sorted(words)} is for python blocks")
        if "output" in words and (previous is None or previous.language != "python"):
            doc.problems.append(f"{block.where}: output must follow a python block")
        if "continue" in words and not seen_python:
            doc.problems.append(f"{block.where}: continue needs a python block before it")
        seen_python = seen_python or block.language == "python"
        previous = block


def chains(doc: Doc) -> list[list[Block]]:
    """The python blocks to run, each a chain of a block and its ``continue`` blocks."""
    found: list[list[Block]] = []
    for block in doc.blocks:
        if block.language != "python" or {"skip", "pytest"} & set(block.markers):
            continue
        if "continue" in block.markers and found:
            found[-1].append(block)
        else:
            found.append([block])
    return found


def mask(text: str) -> list[str]:
    """``text``'s lines with :data:`MASKS` applied and trailing spaces dropped."""
    for pattern, replacement in MASKS:
        text = pattern.sub(replacement, text)
    lines = [line.rstrip() for line in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def matches(shown: str, printed: str) -> bool:
    """Whether ``printed`` is ``shown`` after masking, ``...`` lines matching any lines."""
    pattern = "".join(
        r"(?:.*\n)*?" if line == "..." else re.escape(line) + r"\n" for line in mask(shown)
    )
    return re.fullmatch(pattern, "".join(line + "\n" for line in mask(printed))) is not None


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without ``HOOKWIRE_*``, colours off, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKWIRE_")}
    return {**env, "NO_COLOR": "1", "PYTHONDONTWRITEBYTECODE": "1", **extra}


def run_group(
    args: list[str], *, what: str, cwd: Path, env: dict[str, str], input: str, merge: bool
) -> subprocess.CompletedProcess[str]:
    """Run ``args`` in a process group of its own, ended whole when it is done or too slow.

    A block may start processes of its own (a server in the background); none of them
    outlives its test, and one that runs past :data:`TIMEOUT` fails the test. Output
    goes to files, not pipes, so a leftover process holding them open cannot stall the
    wait; ``merge`` sends stderr to stdout.
    """
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(
            args,
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=out,
            stderr=out if merge else err,
            text=True,
            start_new_session=True,
        )
        try:
            assert process.stdin is not None
            process.stdin.write(input)
            process.stdin.close()
            process.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{what} did not finish in {TIMEOUT} s")
        finally:
            # The group's id stays ours while any of its processes is left.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(args, process.returncode, out.read(), err.read())


def run_chain(
    chain: list[Block], directory: Path, *, env: dict[str, str], root: Path = ROOT
) -> list[str]:
    """Run ``chain`` in ``directory``; fail the test with its output when it fails."""
    work = directory / "work"
    work.mkdir()
    outputs = directory / "outputs.json"
    blocks = [[str(root / block.doc), block.line, block.code] for block in chain]
    result = run_group(
        [sys.executable, "-c", _RUNNER, str(outputs)],
        what=chain[0].where,
        cwd=work,
        env=env,
        input=json.dumps(blocks),
        merge=False,
    )
    if result.returncode != 0:
        pytest.fail(
            f"{chain[-1].where} failed (exit {result.returncode}):\n"
            f"{result.stdout}\n{result.stderr}",
            pytrace=False,
        )
    printed: list[str] = json.loads(outputs.read_text(encoding="utf-8"))
    return printed


def shown_output(doc: Doc, block: Block) -> Block | None:
    """The ``output`` block right after ``block``, if there is one."""
    index = doc.blocks.index(block)
    following = doc.blocks[index + 1 : index + 2]
    return following[0] if following and "output" in following[0].markers else None


def commands(block: Block) -> Iterator[tuple[str, str]]:
    """The ``$ command`` lines of a shell block, each with the text shown under it."""
    command: str | None = None
    shown: list[str] = []
    for line in block.code.splitlines():
        if line.startswith("$ "):
            if command is not None:
                yield command, "\n".join(shown)
            command, shown = line[2:], []
        elif command is not None:
            shown.append(line)
    if command is not None:
        yield command, "\n".join(shown)


SENTINEL = "--- doctest: next command ---"


def run_shell(block: Block, directory: Path) -> list[str]:
    """Run a shell block's commands in one bash session; what each one printed."""
    steps = list(commands(block))
    script = "".join(
        f"{command}\n__rc=$?; printf '\\n%s\\n' '{SENTINEL}'; (exit $__rc)\n"
        for command, _ in steps
    )
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    env = clean_env(HOOKWIRE_SECRET=TEST_SECRET, PATH=path, COLUMNS="100")
    result = run_group(
        ["bash", "-c", script],
        what=block.where,
        cwd=directory,
        env=env,
        input="",
        merge=True,
    )
    return [part.removesuffix("\n") for part in result.stdout.split(f"\n{SENTINEL}\n")[:-1]]


PARSED = [parse(path) for path in DOCS]
CHAINS = [pytest.param(doc, chain, id=chain[0].where) for doc in PARSED for chain in chains(doc)]
SHELL_BLOCKS = [
    pytest.param(block, id=block.where)
    for doc in PARSED
    for block in doc.blocks
    if "run" in block.markers and block.language in SHELL
]


def test_every_doctest_marker_is_well_formed_and_placed() -> None:
    assert [problem for doc in PARSED for problem in doc.problems] == []


def chain_env(chain: list[Block], request: pytest.FixtureRequest) -> dict[str, str]:
    """The environment of a chain: a scratch PostgreSQL database for a ``postgres`` one."""
    if any("postgres" in block.markers for block in chain):
        return clean_env(HOOKWIRE_TEST_POSTGRES_URL=request.getfixturevalue("postgres_url"))
    return clean_env()


@pytest.mark.parametrize(("doc", "chain"), CHAINS)
def test_python_block_runs(
    doc: Doc, chain: list[Block], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    printed = run_chain(chain, tmp_path, env=chain_env(chain, request))
    for block, output in zip(chain, printed, strict=True):
        shown = shown_output(doc, block)
        if shown is not None:
            assert matches(shown.code, output), (
                f"{block.where} printed:\n{output}\nbut {shown.where} shows:\n{shown.code}"
            )


@pytest.mark.parametrize("block", SHELL_BLOCKS)
def test_shell_block_prints_what_it_shows(block: Block, tmp_path: Path) -> None:
    printed = run_shell(block, tmp_path)
    for (command, shown), output in zip(commands(block), printed, strict=True):
        assert matches(shown, output), f"$ {command}\nprinted:\n{output}\nshown:\n{shown}"


def write_doc(tmp_path: Path, text: str) -> Doc:
    """Parse a Markdown file written into ``tmp_path`` (the harness's own tests)."""
    (tmp_path / "doc.md").write_text(text, encoding="utf-8")
    return parse(tmp_path / "doc.md", root=tmp_path)


def test_a_skip_marker_without_a_reason_is_a_problem(tmp_path: Path) -> None:
    doc = write_doc(tmp_path, "<!-- doctest: skip -->\n```python\nx = 1\n```\n")
    assert doc.problems == ["doc.md:1: a skip marker needs a (reason)"]


def test_unknown_and_stray_markers_are_problems(tmp_path: Path) -> None:
    doc = write_doc(tmp_path, "<!-- doctest: later -->\n\nText.\n<!--doctest:skip-->\n")
    assert doc.problems == [
        "doc.md:1: unknown marker 'later'",
        "doc.md:1: a marker must stand above a block",
        "doc.md:4: malformed marker '<!--doctest:skip-->'",
    ]


def test_continue_chains_blocks_into_one_namespace(tmp_path: Path) -> None:
    doc = write_doc(
        tmp_path,
        "```python\nx = 2\n```\n\n<!-- doctest: continue -->\n```python\nprint(x * 3)\n```\n"
        "<!-- doctest: output -->\n```\n6\n```\n",
    )
    (chain,) = chains(doc)
    assert [block.line for block in chain] == [1, 6]
    printed = run_chain(chain, tmp_path, env=clean_env(), root=tmp_path)
    assert printed == ["", "6\n"]


@pytest.mark.postgres
def test_a_postgres_block_gets_a_scratch_database(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    code = (
        "import os\nfrom hookwire.sender import Sender\n\n"
        'with Sender(os.environ["HOOKWIRE_TEST_POSTGRES_URL"]) as sender:\n'
        "    print(sender.webhooks.list(1010))\n"
    )
    doc = write_doc(tmp_path, f"<!-- doctest: postgres -->\n```python\n{code}```\n")
    (chain,) = chains(doc)
    assert run_chain(chain, tmp_path, env=chain_env(chain, request), root=tmp_path) == ["[]\n"]


def test_a_failing_block_fails_its_case_naming_its_markdown_line(tmp_path: Path) -> None:
    doc = write_doc(tmp_path, "Intro.\n\n```python\nx = 1\nraise SystemExit('broken')\n```\n")
    with pytest.raises(pytest.fail.Exception) as failure:
        run_chain(chains(doc)[0], tmp_path, env=clean_env(), root=tmp_path)
    assert "doc.md:3 failed" in str(failure.value)
    assert "broken" in str(failure.value)


def test_a_process_a_block_leaves_behind_is_ended(tmp_path: Path) -> None:
    code = "import subprocess\nprint(subprocess.Popen(['sleep', '300']).pid)\n"
    doc = write_doc(tmp_path, f"```python\n{code}```\n")
    (printed,) = run_chain(chains(doc)[0], tmp_path, env=clean_env(), root=tmp_path)
    pid = int(printed)
    deadline = time.monotonic() + 10
    while Path(f"/proc/{pid}").exists() and "sleep" in Path(f"/proc/{pid}/cmdline").read_text():
        assert time.monotonic() < deadline, f"process {pid} outlived its block"
        time.sleep(0.05)


def test_shell_commands_share_one_session_and_see_the_last_exit_status(tmp_path: Path) -> None:
    block = Block("doc.md", 1, "console", "$ false\n$ echo $?\n1\n$ printf x\nx\n")
    assert run_shell(block, tmp_path) == ["", "1", "x"]


def test_masks_hide_ids_times_and_ports_but_not_the_rest() -> None:
    shown = "12:00:01  202  msg_abc  http://127.0.0.1:8000/x  2 ms\n...\ndone\n"
    assert matches(shown, "17:29:48  202  msg_Q_z9  http://127.0.0.1:52293/x  15 ms\na\nb\ndone")
    assert not matches(shown, "17:29:48  401  msg_Q_z9  http://127.0.0.1:52293/x  15 ms\ndone")
