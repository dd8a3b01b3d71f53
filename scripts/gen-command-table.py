#!/usr/bin/env python3
"""Generate Sources/ClusterModel/Commands/CommandTable+Generated.swift from a real Redis 7.0 server.

The script reads `COMMAND` (name, arity, flags, legacy key positions, ACL categories, tips, key specs,
subcommands) and `COMMAND DOCS` (summary, since, group, complexity, doc flags, deprecation, history,
arguments) and writes them as Swift struct literals, sorted by name, so that the table can be committed and
diffed. Routing policy and key-extraction procedures are hand-maintained in Swift (CommandSpec+Overlay.swift),
not here: the server does not publish them.

Usage:
    scripts/gen-command-table.py                      # starts redis-server on a free 127.0.0.1 port
    scripts/gen-command-table.py --port 6390          # reads an already running server on 127.0.0.1:6390
    scripts/gen-command-table.py --output /tmp/x.swift --redis-server /usr/bin/redis-server

Only the Python standard library is used (a minimal RESP2 client is included).
"""

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUTPUT = os.path.join(REPO_ROOT, "Sources", "ClusterModel", "Commands", "CommandTable+Generated.swift")

# Wire names -> Swift member names. Every name the server sends must be listed; an unknown one stops the
# script, so that a new Redis version cannot silently lose information.
COMMAND_FLAGS = {
    "write": "write", "readonly": "readonly", "denyoom": "denyoom", "module": "module", "admin": "admin",
    "pubsub": "pubsub", "noscript": "noscript", "blocking": "blocking", "loading": "loading", "stale": "stale",
    "skip_monitor": "skipMonitor", "skip_slowlog": "skipSlowlog", "asking": "asking", "fast": "fast",
    "no_auth": "noAuth", "no_mandatory_keys": "noMandatoryKeys", "no_async_loading": "noAsyncLoading",
    "no_multi": "noMulti", "movablekeys": "movableKeys", "allow_busy": "allowBusy",
}
ACL_CATEGORIES = {
    "@keyspace": "keyspace", "@read": "read", "@write": "write", "@set": "set", "@sortedset": "sortedSet",
    "@list": "list", "@hash": "hash", "@string": "string", "@bitmap": "bitmap", "@hyperloglog": "hyperLogLog",
    "@geo": "geo", "@stream": "stream", "@pubsub": "pubsub", "@admin": "admin", "@fast": "fast", "@slow": "slow",
    "@blocking": "blocking", "@dangerous": "dangerous", "@connection": "connection",
    "@transaction": "transaction", "@scripting": "scripting",
}
KEY_SPEC_FLAGS = {
    "RO": "ro", "RW": "rw", "OW": "ow", "RM": "rm", "access": "access", "update": "update", "insert": "insert",
    "delete": "delete", "not_key": "notKey", "incomplete": "incomplete", "variable_flags": "variableFlags",
}
GROUPS = {
    "generic": "generic", "string": "string", "list": "list", "set": "set", "sorted-set": "sortedSet",
    "hash": "hash", "pubsub": "pubsub", "transactions": "transactions", "connection": "connection",
    "server": "server", "scripting": "scripting", "hyperloglog": "hyperLogLog", "cluster": "cluster",
    "sentinel": "sentinel", "geo": "geo", "stream": "stream", "bitmap": "bitmap", "module": "module",
}
DOC_FLAGS = {"deprecated": "deprecated", "syscmd": "syscmd"}
ARG_TYPES = {
    "string": "string", "integer": "integer", "double": "double", "key": "key", "pattern": "pattern",
    "unix-time": "unixTime", "pure-token": "pureToken", "oneof": "oneOf", "block": "block",
}
ARG_FLAGS = {"optional": "optional", "multiple": "multiple", "multiple_token": "multipleToken"}
DOC_FIELDS = ["summary", "since", "group", "complexity", "doc_flags", "deprecated_since", "replaced_by",
              "history", "arguments", "subcommands"]
ARG_FIELDS = ["name", "type", "key_spec_index", "token", "since", "deprecated_since", "flags", "arguments"]


class RespError(Exception):
    pass


class RespClient:
    """A minimal RESP2 client: enough for COMMAND, COMMAND DOCS, INFO and PING."""

    def __init__(self, host, port, timeout=10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.reader = self.sock.makefile("rb")

    def close(self):
        self.reader.close()
        self.sock.close()

    def call(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for arg in args:
            data = arg.encode() if isinstance(arg, str) else arg
            out.append(b"$%d\r\n%s\r\n" % (len(data), data))
        self.sock.sendall(b"".join(out))
        return self._read()

    def _read(self):
        line = self.reader.readline()
        if not line.endswith(b"\r\n"):
            raise RespError("connection closed")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RespError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            length = int(rest)
            if length < 0:
                return None
            data = self.reader.read(length + 2)
            return data[:-2].decode()
        if kind == b"*":
            length = int(rest)
            if length < 0:
                return None
            return [self._read() for _ in range(length)]
        raise RespError("unexpected reply type %r" % line)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(binary, workdir):
    """Starts redis-server on a free loopback port; returns (process, port)."""
    last_error = None
    for _ in range(5):
        port = free_port()
        proc = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", workdir, "--daemonize", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 10
        while time.time() < deadline:
            if proc.poll() is not None:
                last_error = proc.stderr.read().decode(errors="replace")
                break
            try:
                client = RespClient("127.0.0.1", port, timeout=1.0)
                try:
                    if client.call("PING") == "PONG":
                        return proc, port
                finally:
                    client.close()
            except (OSError, RespError) as error:
                last_error = str(error)
            time.sleep(0.05)
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=10)
    sys.exit("could not start %s: %s" % (binary, last_error))


def pairs(flat):
    """A RESP2 map (flat array of key, value, ...) as a list of (key, value)."""
    return list(zip(flat[0::2], flat[1::2]))


def swift_string(text):
    out = ['"']
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append("\\u{%x}" % ord(ch))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def option_set(names, mapping, what):
    members = []
    for name in names:
        if name not in mapping:
            sys.exit("unknown %s %r: add it to the generator and to the Swift type" % (what, name))
        members.append("." + mapping[name])
    return "[" + ", ".join(members) + "]"


def identifier(full_name):
    return "c_" + "".join(ch if ch.isalnum() else "_" for ch in full_name)


def key_spec_literal(spec):
    fields = dict(pairs(spec))
    unknown = set(fields) - {"notes", "flags", "begin_search", "find_keys"}
    if unknown:
        sys.exit("unknown key spec fields %r" % unknown)
    begin = dict(pairs(fields["begin_search"]))
    begin_spec = dict(pairs(begin["spec"]))
    if begin["type"] == "index":
        begin_text = ".index(%d)" % begin_spec["index"]
    elif begin["type"] == "keyword":
        begin_text = ".keyword(%s, startFrom: %d)" % (swift_string(begin_spec["keyword"]), begin_spec["startfrom"])
    elif begin["type"] == "unknown":
        begin_text = ".unknown"
    else:
        sys.exit("unknown begin_search type %r" % begin["type"])
    find = dict(pairs(fields["find_keys"]))
    find_spec = dict(pairs(find["spec"]))
    if find["type"] == "range":
        find_text = ".range(lastKey: %d, keyStep: %d, limit: %d)" % (
            find_spec["lastkey"], find_spec["keystep"], find_spec["limit"])
    elif find["type"] == "keynum":
        find_text = ".keyNum(keyNumIndex: %d, firstKey: %d, keyStep: %d)" % (
            find_spec["keynumidx"], find_spec["firstkey"], find_spec["keystep"])
    elif find["type"] == "unknown":
        find_text = ".unknown"
    else:
        sys.exit("unknown find_keys type %r" % find["type"])
    parts = []
    if "notes" in fields:
        parts.append("notes: %s" % swift_string(fields["notes"]))
    parts.append("flags: %s" % option_set(fields["flags"], KEY_SPEC_FLAGS, "key spec flag"))
    parts.append("beginSearch: %s" % begin_text)
    parts.append("findKeys: %s" % find_text)
    return "KeySpec(%s)" % ", ".join(parts)


def argument_literal(arg, indent):
    fields = pairs(arg)
    names = [name for name, _ in fields]
    unknown = [name for name in names if name not in ARG_FIELDS]
    if unknown:
        sys.exit("unknown argument fields %r" % unknown)
    values = dict(fields)
    parts = ["name: %s" % swift_string(values["name"])]
    if values["type"] not in ARG_TYPES:
        sys.exit("unknown argument type %r" % values["type"])
    parts.append("type: .%s" % ARG_TYPES[values["type"]])
    if "key_spec_index" in values:
        parts.append("keySpecIndex: %d" % values["key_spec_index"])
    if "token" in values:
        parts.append("token: %s" % swift_string(values["token"]))
    if "since" in values:
        parts.append("since: %s" % swift_string(values["since"]))
    if "deprecated_since" in values:
        parts.append("deprecatedSince: %s" % swift_string(values["deprecated_since"]))
    if "flags" in values:
        parts.append("flags: %s" % option_set(values["flags"], ARG_FLAGS, "argument flag"))
    text = indent + "CommandArgument(" + ", ".join(parts)
    if "arguments" in values:
        text += ", arguments: [\n"
        for child in values["arguments"]:
            text += argument_literal(child, indent + "    ") + ",\n"
        text += indent + "]"
    return text + ")"


def docs_literal(docs, indent):
    fields = pairs(docs)
    unknown = [name for name, _ in fields if name not in DOC_FIELDS]
    if unknown:
        sys.exit("unknown doc fields %r" % unknown)
    values = dict(fields)
    if values["group"] not in GROUPS:
        sys.exit("unknown command group %r" % values["group"])
    inner = indent + "    "
    lines = [indent + "docs: CommandDocs("]
    lines.append(inner + "summary: %s," % swift_string(values["summary"]))
    lines.append(inner + "since: %s, group: .%s," % (swift_string(values["since"]), GROUPS[values["group"]]))
    if "complexity" in values:
        lines.append(inner + "complexity: %s," % swift_string(values["complexity"]))
    if "doc_flags" in values:
        lines.append(inner + "docFlags: %s," % option_set(values["doc_flags"], DOC_FLAGS, "doc flag"))
    if "deprecated_since" in values:
        lines.append(inner + "deprecatedSince: %s," % swift_string(values["deprecated_since"]))
    if "replaced_by" in values:
        lines.append(inner + "replacedBy: %s," % swift_string(values["replaced_by"]))
    if "history" in values:
        lines.append(inner + "history: [")
        for version, text in values["history"]:
            lines.append(inner + "    CommandHistoryEntry(version: %s, description: %s)," % (
                swift_string(version), swift_string(text)))
        lines.append(inner + "],")
    if "arguments" in values:
        lines.append(inner + "arguments: [")
        for arg in values["arguments"]:
            lines.append(argument_literal(arg, inner + "    ") + ",")
        lines.append(inner + "],")
    lines[-1] = lines[-1].rstrip(",")
    lines.append(indent + ")")
    return lines


def command_literal(info, docs):
    name, arity, flags, first, last, step, acl, tips, key_specs, subcommands = info
    lines = ["private let %s = CommandSpec(" % identifier(name)]
    ind = "    "
    lines.append(ind + "name: %s, arity: %d," % (swift_string(name), arity))
    lines.append(ind + "flags: %s," % option_set(flags, COMMAND_FLAGS, "command flag"))
    lines.append(ind + "firstKey: %d, lastKey: %d, step: %d," % (first, last, step))
    lines.append(ind + "aclCategories: %s," % option_set(acl, ACL_CATEGORIES, "ACL category"))
    if tips:
        lines.append(ind + "tips: [%s]," % ", ".join(swift_string(t) for t in tips))
    if key_specs:
        lines.append(ind + "keySpecs: [")
        for spec in key_specs:
            lines.append(ind + "    " + key_spec_literal(spec) + ",")
        lines.append(ind + "],")
    if subcommands:
        lines.append(ind + "subcommands: [")
        for sub in sorted(subcommands, key=lambda s: s[0]):
            lines.append(ind + "    " + identifier(sub[0]) + ",")
        lines.append(ind + "],")
    lines.extend(docs_literal(docs, ind))
    lines.append(")")
    return "\n".join(lines)


def generate(client, allow_other_version):
    info = dict(line.split(":", 1) for line in client.call("INFO", "server").splitlines() if ":" in line)
    version = info.get("redis_version", "?")
    if not version.startswith("7.0.") and not allow_other_version:
        sys.exit("redis-server %s is not 7.0.x (use --allow-other-version to override)" % version)
    commands = client.call("COMMAND")
    docs_reply = dict(pairs(client.call("COMMAND", "DOCS")))

    docs_by_name = {}
    for name, docs in docs_reply.items():
        docs_by_name[name] = docs
        for sub_name, sub_docs in pairs(dict(pairs(docs)).get("subcommands", [])):
            docs_by_name[sub_name] = sub_docs

    everything = []

    def collect(entry):
        everything.append(entry)
        for sub in entry[9]:
            collect(sub)

    for entry in commands:
        collect(entry)
    names = [entry[0] for entry in everything]
    identifiers = {identifier(name) for name in names}
    if len(identifiers) != len(names):
        sys.exit("two command names map to the same Swift identifier")
    missing_docs = [name for name in names if name not in docs_by_name]
    if missing_docs:
        sys.exit("COMMAND DOCS has no entry for %r" % missing_docs)

    top_level = sorted(commands, key=lambda entry: entry[0])
    out = []
    out.append("// Generated by scripts/gen-command-table.py from redis-server %s (COMMAND, COMMAND DOCS)." % version)
    out.append("// Do not edit: change the generator, or the hand-written overlay in CommandSpec+Overlay.swift.")
    out.append("")
    out.append("extension CommandTable {")
    out.append("    /// The Redis version this table was read from.")
    out.append("    public static let redisVersion: String = %s" % swift_string(version))
    out.append("")
    out.append("    /// Every top-level Redis %s command, sorted by name; subcommands hang off their container." % version)
    out.append("    static let generatedCommands: [CommandSpec] = [")
    for entry in top_level:
        out.append("        %s," % identifier(entry[0]))
    out.append("    ]")
    out.append("}")
    for entry in sorted(everything, key=lambda e: e[0]):
        out.append("")
        out.append(command_literal(entry, docs_by_name[entry[0]]))
    out.append("")
    return "\n".join(out), len(top_level), len(everything), version


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, help="read an already running redis-server on 127.0.0.1:PORT")
    parser.add_argument("--host", default="127.0.0.1", help="host for --port (default 127.0.0.1)")
    parser.add_argument("--redis-server", default="redis-server", help="redis-server binary to start")
    parser.add_argument("--output", default=DEFAULT_OUTPUT, help="Swift file to write")
    parser.add_argument("--allow-other-version", action="store_true", help="accept a server that is not 7.0.x")
    args = parser.parse_args()

    process = None
    workdir = None
    port = args.port
    try:
        if port is None:
            workdir = tempfile.TemporaryDirectory(prefix="gen-command-table-")
            process, port = start_server(args.redis_server, workdir.name)
        try:
            client = RespClient(args.host, port)
        except OSError as error:
            sys.exit("cannot connect to %s:%d: %s" % (args.host, port, error))
        try:
            text, top, total, version = generate(client, args.allow_other_version)
        finally:
            client.close()
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=10)
        if workdir is not None:
            workdir.cleanup()
    with open(args.output, "w") as handle:
        handle.write(text)
    print("wrote %s: %d commands, %d including subcommands, from redis-server %s" % (args.output, top, total, version))


if __name__ == "__main__":
    main()
