import RESP

extension CommandSpec {
    /// This command's entry in a `COMMAND` / `COMMAND INFO` reply, shaped as Redis 7.0 sends it: name, arity,
    /// flags, first key, last key, step, ACL categories, tips, key specs, subcommands (sorted by name; Redis
    /// sends them in hash order). Sets and maps are RESP3 types when `resp3` is set, arrays otherwise.
    public func infoReply(resp3: Bool) -> RESPValue {
        let reply = ReplyShape(resp3: resp3)
        return .array([
            .bulk(name),
            .integer(Int64(arity)),
            reply.set(flags.names.map { .simpleString($0) }),
            .integer(Int64(firstKey)),
            .integer(Int64(lastKey)),
            .integer(Int64(step)),
            reply.set(aclCategories.names.map { .simpleString($0) }),
            reply.set(tips.map { .bulk($0) }),
            reply.set(keySpecs.map { $0.reply(reply) }),
            // Redis sends an empty set for no subcommands, but an array of them for a container.
            subcommands.isEmpty ? reply.set([]) : .array(subcommands.map { $0.infoReply(resp3: resp3) }),
        ])
    }

    /// This command's value in a `COMMAND DOCS` reply (which maps each name to it), as Redis 7.0 sends it:
    /// summary, since, group, complexity, doc flags, deprecation, history, arguments, subcommands.
    public func docsReply(resp3: Bool) -> RESPValue {
        let reply = ReplyShape(resp3: resp3)
        var fields: [(String, RESPValue)] = [
            ("summary", .bulk(docs.summary)),
            ("since", .bulk(docs.since)),
            ("group", .bulk(docs.group.rawValue)),
        ]
        if let complexity = docs.complexity {
            fields.append(("complexity", .bulk(complexity)))
        }
        if !docs.docFlags.isEmpty {
            fields.append(("doc_flags", reply.set(docs.docFlags.names.map { .simpleString($0) })))
        }
        if let deprecatedSince = docs.deprecatedSince {
            fields.append(("deprecated_since", .bulk(deprecatedSince)))
        }
        if let replacedBy = docs.replacedBy {
            fields.append(("replaced_by", .bulk(replacedBy)))
        }
        if !docs.history.isEmpty {
            fields.append(
                ("history", reply.set(docs.history.map { .array([.bulk($0.version), .bulk($0.description)]) })))
        }
        if !docs.arguments.isEmpty {
            fields.append(("arguments", .array(docs.arguments.map { $0.reply(reply) })))
        }
        if isContainer {
            fields.append(("subcommands", reply.map(subcommands.map { (.bulk($0.name), $0.docsReply(resp3: resp3)) })))
        }
        return reply.fields(fields)
    }
}

/// RESP3 sets and maps, or their RESP2 array forms.
struct ReplyShape {
    var resp3: Bool

    func set(_ elements: [RESPValue]) -> RESPValue {
        resp3 ? .set(elements) : .array(elements)
    }

    func map(_ pairs: [(RESPValue, RESPValue)]) -> RESPValue {
        if resp3 {
            return .map(pairs.map { (key: $0.0, value: $0.1) })
        }
        return .array(pairs.flatMap { [$0.0, $0.1] })
    }

    /// A map whose keys are the bulk strings `fields[i].0`.
    func fields(_ fields: [(String, RESPValue)]) -> RESPValue {
        map(fields.map { (RESPValue.bulk($0.0), $0.1) })
    }
}

extension KeySpec {
    func reply(_ reply: ReplyShape) -> RESPValue {
        var fields: [(String, RESPValue)] = []
        if let notes {
            fields.append(("notes", .bulk(notes)))
        }
        fields.append(("flags", reply.set(flags.names.map { .simpleString($0) })))
        let begin: RESPValue
        switch beginSearch {
        case .index(let index):
            begin = reply.fields([("type", .bulk("index")), ("spec", reply.fields([("index", .integer(Int64(index)))]))])
        case .keyword(let keyword, let startFrom):
            begin = reply.fields([
                ("type", .bulk("keyword")),
                ("spec", reply.fields([("keyword", .bulk(keyword)), ("startfrom", .integer(Int64(startFrom)))])),
            ])
        case .unknown:
            begin = reply.fields([("type", .bulk("unknown")), ("spec", reply.fields([]))])
        }
        fields.append(("begin_search", begin))
        let find: RESPValue
        switch findKeys {
        case .range(let lastKey, let keyStep, let limit):
            find = reply.fields([
                ("type", .bulk("range")),
                ("spec", reply.fields([
                    ("lastkey", .integer(Int64(lastKey))), ("keystep", .integer(Int64(keyStep))),
                    ("limit", .integer(Int64(limit))),
                ])),
            ])
        case .keyNum(let keyNumIndex, let firstKey, let keyStep):
            find = reply.fields([
                ("type", .bulk("keynum")),
                ("spec", reply.fields([
                    ("keynumidx", .integer(Int64(keyNumIndex))), ("firstkey", .integer(Int64(firstKey))),
                    ("keystep", .integer(Int64(keyStep))),
                ])),
            ])
        case .unknown:
            find = reply.fields([("type", .bulk("unknown")), ("spec", reply.fields([]))])
        }
        fields.append(("find_keys", find))
        return reply.fields(fields)
    }
}

extension CommandArgument {
    func reply(_ reply: ReplyShape) -> RESPValue {
        var fields: [(String, RESPValue)] = [("name", .bulk(name)), ("type", .bulk(type.rawValue))]
        if let keySpecIndex {
            fields.append(("key_spec_index", .integer(Int64(keySpecIndex))))
        }
        if let token {
            fields.append(("token", .bulk(token)))
        }
        if let since {
            fields.append(("since", .bulk(since)))
        }
        if let deprecatedSince {
            fields.append(("deprecated_since", .bulk(deprecatedSince)))
        }
        if !flags.isEmpty {
            fields.append(("flags", reply.set(flags.names.map { .simpleString($0) })))
        }
        if !arguments.isEmpty {
            fields.append(("arguments", .array(arguments.map { $0.reply(reply) })))
        }
        return reply.fields(fields)
    }
}
