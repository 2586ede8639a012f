"""Writing and reading lograd's files safely: the one atomic writer, output checks, bounded reads.

Every file lograd writes (model files, checkpoints, predictions, reports, JSON metrics, drawn
graphs) goes through :func:`atomic_write`, and every command checks its outputs with
:func:`check_outputs` before doing any work. Model files and checkpoints are read with
:class:`BoundedZip`, which checks every member's declared size before allocating anything.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import stat
import tempfile
import time
import zipfile
import zlib

import numpy as np

from lograd.errors import UserError
from lograd.files import json_codec

#: A temporary file of ours older than this whose writer cannot be checked (another host) is
#: stale: a writer touches its file every few seconds while it writes.
STALE_SECONDS = 3600
_TEMP_SUFFIX = ".lograd-tmp"
_HOST = f"{zlib.crc32(socket.gethostname().encode()):08x}"  # short, fixed for this machine
# .NAME.HOST-PID-RANDOM.lograd-tmp: NAME is (the start of) the target's name
_TEMP_NAME = re.compile(r"^\..*\.(?P<host>[0-9a-f]{8})-(?P<pid>\d+)-[^.]+"
                        + re.escape(_TEMP_SUFFIX) + "$", re.DOTALL)


def umask() -> int:
    """The process's umask (reading it means setting it; it is set straight back)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def remove_quietly(path) -> None:
    """Remove ``path`` if it exists (a temporary file left by a failed write)."""
    with contextlib.suppress(FileNotFoundError):
        os.remove(path)


# -- checking outputs before any work ------------------------------------------------------------
def check_writable(path, what="output") -> None:
    """Raise a UserError now if ``path`` cannot be written, before any long work is done.

    A path naming a character device or a FIFO (``/dev/null``, a named pipe) is written into
    directly; a symbolic link is written through (its target is replaced). Anything else that
    is not a regular file (a directory, a block device, a socket) is refused.
    """
    path = os.fspath(path)
    if not path:
        raise UserError(f"{what}: empty file name")
    kind = _kind(path)
    if kind == "directory":
        raise UserError(f"{what} {path}: is a directory")
    if kind in ("block device", "socket"):
        raise UserError(f"{what} {path}: is a {kind}; give the name of a file")
    if kind in ("character device", "fifo"):
        if not os.access(path, os.W_OK):
            raise UserError(f"{what} {path}: is not writable")
        return
    target = os.path.realpath(path)  # a symbolic link: its target is what gets replaced
    directory = os.path.dirname(target)
    if not os.path.isdir(directory):
        raise UserError(f"{what} {path}: directory {os.path.dirname(os.path.abspath(path))} "
                        "does not exist")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise UserError(f"{what} {path}: directory {directory} is not writable")
    if kind == "file" and not os.access(target, os.W_OK):
        raise UserError(f"{what} {path}: file is not writable")


def _kind(path) -> str | None:
    """What ``path`` names, following symbolic links; None if nothing (or a dangling link)."""
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise UserError(f"{path}: cannot be examined ({exc.strerror or exc})") from None
    for test, name in ((stat.S_ISREG, "file"), (stat.S_ISDIR, "directory"),
                       (stat.S_ISCHR, "character device"), (stat.S_ISFIFO, "fifo"),
                       (stat.S_ISBLK, "block device")):
        if test(mode):
            return name
    return "socket"


def check_outputs(outputs, inputs=(), stdout=()) -> None:
    """Refuse, before any work, outputs that cannot be written or would destroy a file.

    Parameters
    ----------
    outputs : dict of str -> path or None
        Each output by the flag that names it, e.g. ``{"--output": "m.lograd"}``; None means
        the output is not wanted.
    inputs : iterable of (str, path)
        Each input file with what it is for the message, e.g. ``("DATA", "d.csv")``.
    stdout : iterable of str
        The flags for which ``-`` means standard output.

    Raises
    ------
    UserError
        One line naming the flag and the path: an output that is an input (by file identity:
        hard links and symbolic links count), two outputs that are one file, ``-`` for an
        output that cannot go to standard output, or an unwritable output.
    """
    wanted = {flag: os.fspath(path) for flag, path in outputs.items() if path is not None}
    inputs = [(what, os.fspath(path)) for what, path in inputs]
    seen = {}
    for flag, path in wanted.items():
        if path == "-":
            if flag not in stdout:
                raise UserError(f"{flag} -: this output cannot go to standard output; give a "
                                "file name")
            continue
        check_writable(path, flag)
        identity = _identity(path)
        if identity is None:  # a device or a FIFO: nothing there to destroy
            continue
        for what, source in inputs:
            if _identity(source) == identity:
                same = "" if source == path else f" {source}"
                raise UserError(f"{flag} {path}: is the input {what}{same}; writing it would "
                                "destroy it (give another file name)")
        if identity in seen:
            raise UserError(f"{flag} {path}: is also the {seen[identity]} file; give each "
                            "output its own file name")
        seen[identity] = flag


def _identity(path):
    """What identifies the file at ``path``: (device, inode) of an existing regular file (hard
    links and symbolic links share it), the resolved path where nothing exists yet, and None
    for a device or FIFO (writing into one destroys nothing)."""
    try:
        info = os.stat(path)
    except OSError:
        return os.path.realpath(path)
    return (info.st_dev, info.st_ino) if stat.S_ISREG(info.st_mode) else None


def input_files(what, data) -> list:
    """``(what, path)`` for each file that DATA names (a file, or the files of a directory or
    glob, as the commands read them); none for no DATA."""
    if data is None:
        return []
    from lograd.files.filesets import expand

    return [(what, path) for path in (expand(data) or [data])]


# -- the one atomic writer -----------------------------------------------------------------------
@contextlib.contextmanager
def atomic_write(path, mode="wb", what="output", failure=None, **open_kwargs):
    """Open ``path`` for writing so that readers see the old file or the whole new one.

    A regular file (or a new one) is written to a temporary file in its directory, flushed to
    disk (fsync), renamed over ``path``, and the directory is synced so the rename survives a
    power cut; an error or an interrupt leaves the old file and no temporary file. A symbolic
    link is written through: its target is replaced this way and the link stays. A character
    device or FIFO (``/dev/null``, a named pipe) is written into directly, never replaced.
    Stale temporary files of earlier, killed writes into the same directory are removed first.

    Parameters
    ----------
    path : str or path-like
    mode : {'wb', 'w'}
    what : str
        The output's name in error messages (a flag such as ``--output``, or "model file").
    failure : callable, optional
        ``failure(reason) -> str``: the message when writing fails (default: ``"WHAT PATH:
        cannot write (REASON)"``).
    **open_kwargs
        Passed to ``open`` (``encoding``, ``newline``).

    Yields
    ------
    file object

    Raises
    ------
    UserError
        If the path cannot be written (checked by :func:`check_writable` first).
    """
    path = os.fspath(path)
    check_writable(path, what)
    if failure is None:
        def failure(reason):
            return f"{what} {path}: cannot write ({reason})"
    if _kind(path) in ("character device", "fifo"):
        with _user_errors(failure), open(path, mode, **open_kwargs) as f:
            yield f
        return
    target = os.path.realpath(path)
    directory = os.path.dirname(target)
    remove_stale_temporaries(directory)
    name = os.path.basename(target)[:64]  # room for the rest within the 255-byte limit
    with _user_errors(failure):
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{name}.{_HOST}-{os.getpid()}-",
                                   suffix=_TEMP_SUFFIX)
    try:
        with _user_errors(failure):
            with os.fdopen(fd, mode, **open_kwargs) as f:
                yield f
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o666 & ~umask())  # mkstemp's 0600 would hide it from the group
            os.replace(tmp, target)
        fsync_directory(directory)
    except BaseException:
        remove_quietly(tmp)
        raise


@contextlib.contextmanager
def _user_errors(failure):
    try:
        yield
    except OSError as exc:
        raise UserError(failure(exc.strerror or exc)) from None


def fsync_directory(directory) -> None:
    """Sync a directory's entries to disk (so a rename in it survives a power cut)."""
    with contextlib.suppress(OSError):  # not every platform/file system allows it
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def remove_stale_temporaries(directory) -> list:
    """Remove the temporary files of lograd writes into ``directory`` that were killed.

    Ours are named ``.NAME.HOST-PID-RANDOM.lograd-tmp``. One is stale when it was written on
    this machine by a process that is gone, or, written elsewhere (a shared file system), when
    it has not changed for :data:`STALE_SECONDS`. A running writer's file is never touched.

    Returns
    -------
    list of str
        The paths removed.
    """
    removed = []
    try:
        with os.scandir(directory) as entries:
            ours = [(entry, match) for entry in entries
                    if (match := _TEMP_NAME.match(entry.name)) is not None]
    except OSError:
        return removed
    for entry, match in ours:
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            if match["host"] == _HOST and os.name == "posix":
                stale = not _running(int(match["pid"]))
            else:
                stale = time.time() - entry.stat(follow_symlinks=False).st_mtime > STALE_SECONDS
            if stale:
                os.remove(entry.path)
                removed.append(entry.path)
        except OSError:  # gone already, or not ours to remove: leave it
            continue
    return removed


def _running(pid) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True  # another user's process, or a number we cannot check: leave it
    return True


# -- bounded reading of ZIP archives of JSON and .npy members --------------------------------------
class BadFile(Exception):
    """A file is not what its reader expects; the message says what is wrong, in one line,
    without the file's name (the caller adds it)."""


_ARRAY_KINDS = "biufU"  # bool, integers, floats, text: never objects, records or raw bytes
_READ_CHUNK = 1 << 20


class BoundedZip:
    """A ZIP archive whose members are read within declared, bounded sizes.

    Opening reads the archive's directory and refuses it before anything is decompressed when
    it has more than ``max_members`` members, duplicate names, encrypted or unusually
    compressed members, or declared (uncompressed) sizes adding up to more than ``max_bytes``.
    Reading a member never gives more than its declared size (zipfile stops there and checks
    the CRC), and an ``.npy`` member's header must account for exactly its size.

    Parameters
    ----------
    path : str
    kind : str
        What the file should be, for messages ("lograd model").
    max_bytes : int
        The most the members may declare in total.
    max_members : int

    Raises
    ------
    BadFile
        For a file that is not a ZIP archive, or one that breaks a bound.
    """

    def __init__(self, path, kind, max_bytes, max_members=256):
        try:
            self.archive = zipfile.ZipFile(path)
            infos = self.archive.infolist()
        except (zipfile.BadZipFile, EOFError, ValueError, NotImplementedError,
                UnicodeDecodeError, OSError) as exc:
            raise BadFile(f"not a {kind}, or damaged/truncated ({_reason(exc)})") from None
        try:
            self._check_directory(infos, max_bytes, max_members)
        except BaseException:
            self.archive.close()
            raise
        self.members = {info.filename: info for info in infos}

    @staticmethod
    def _check_directory(infos, max_bytes, max_members):
        if len(infos) > max_members:
            raise BadFile(f"damaged ({len(infos)} members; at most {max_members} expected)")
        names = [info.filename for info in infos]
        if len(set(names)) != len(names):
            raise BadFile("damaged (a member name appears twice)")
        total = 0
        for info in infos:
            if info.flag_bits & 0x1:
                raise BadFile(f"damaged (member {info.filename} is encrypted)")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise BadFile(f"damaged (member {info.filename} uses compression method "
                              f"{info.compress_type})")
            total += info.file_size
            if total > max_bytes:
                raise BadFile(f"damaged or not one of ours: its members unpack to more than "
                              f"{_size(max_bytes)}, the most lograd reads")

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.archive.close()

    def read_json(self, name, max_bytes):
        """Member ``name`` parsed as JSON (at most ``max_bytes`` of it), decoded by
        :func:`lograd.files.json_codec.loads`."""
        info = self._info(name)
        if info.file_size > max_bytes:
            raise BadFile(f"damaged ({name} is {_size(info.file_size)}; at most "
                          f"{_size(max_bytes)} expected)")
        raw = self._read_member(info)
        try:
            return json_codec.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise BadFile(f"damaged {name} ({_reason(exc)})") from None

    def read_array(self, name) -> np.ndarray:
        """Member ``name`` (an ``.npy``) as an array, allocated only once its header, dtype and
        shape have been checked against the member's size; never unpickled."""
        info = self._info(name)
        try:
            with self.archive.open(info) as f:
                shape, fortran, dtype = _npy_header(f, name)
                n_bytes = dtype.itemsize * _product(shape)
                if f.tell() + n_bytes != info.file_size:
                    raise BadFile(f"damaged (array {name}: its header says shape "
                                  f"{_shape_text(shape)} of {dtype.name}, {n_bytes} bytes, "
                                  f"but the member holds {info.file_size - f.tell()})")
                # Fortran order: the data is the C order of the reversed shape
                array = np.empty(shape[::-1] if fortran else shape, dtype=dtype)
                _read_into(f, memoryview(array.reshape(-1).view(np.uint8)), name)
                if f.read(1):  # also makes zipfile check the CRC
                    raise BadFile(f"damaged (array {name} has trailing data)")
        except (zipfile.BadZipFile, EOFError, OSError, ValueError, zlib.error) as exc:
            raise BadFile(f"damaged (array {name}: {_reason(exc)})") from None
        return array.T if fortran else array

    def _info(self, name):
        try:
            return self.members[name]
        except KeyError:
            raise BadFile(f"damaged (no member {name})") from None

    def _read_member(self, info) -> bytes:
        try:
            with self.archive.open(info) as f:
                raw = f.read(info.file_size + 1)
        except (zipfile.BadZipFile, EOFError, OSError, ValueError, zlib.error) as exc:
            raise BadFile(f"damaged ({info.filename}: {_reason(exc)})") from None
        if len(raw) != info.file_size:
            raise BadFile(f"damaged or truncated ({info.filename})")
        return raw


def _npy_header(f, name):
    """(shape, fortran_order, dtype) from an ``.npy`` header, checked to be plain data."""
    try:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        else:
            raise BadFile(f"damaged (array {name}: .npy format version {version})")
    except BadFile:
        raise
    except Exception as exc:  # noqa: BLE001 - NumPy parses the header text with tokenize and
        # ast (TokenError, SyntaxError, ValueError, ...): any failure means a damaged header
        raise BadFile(f"damaged (array {name}: {_reason(exc)})") from None
    if dtype.hasobject:
        raise BadFile(f"damaged (array {name} holds Python objects, which lograd never "
                      "unpickles)")
    if (dtype.kind not in _ARRAY_KINDS or dtype.fields is not None
            or dtype.subdtype is not None or dtype.itemsize == 0):
        raise BadFile(f"damaged (array {name} has dtype {dtype.str!r}, not plain numbers or text)")
    if any(d < 0 for d in shape):
        raise BadFile(f"damaged (array {name} has shape {_shape_text(shape)})")
    return tuple(shape), bool(fortran), dtype


def _read_into(f, buffer, name) -> None:
    position = 0
    while position < len(buffer):
        chunk = f.read(min(_READ_CHUNK, len(buffer) - position))
        if not chunk:
            raise BadFile(f"damaged or truncated (array {name})")
        buffer[position:position + len(chunk)] = chunk
        position += len(chunk)


def _product(shape) -> int:
    n = 1
    for d in shape:
        n *= int(d)  # Python ints: a header claiming 10⁶ × 10⁶ does not overflow
    return n


def _shape_text(shape) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _size(n) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n} bytes"


def _reason(exc) -> str:
    """An exception as a short phrase for a message: one line, at most 200 characters."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."

