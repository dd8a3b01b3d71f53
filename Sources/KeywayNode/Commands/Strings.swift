import NIOCore

/// String commands. (GET and a plain SET so far; the full family comes next.)
func registerStringCommands(_ handlers: inout CommandHandlers) {
    handlers.register("get") { (inv: inout Invocation) throws(RedisError) in
        switch inv.lookupRead(inv.args[1]) {
        case nil: inv.reply.null()
        case .string(let value)?: inv.reply.bulk(value)
        default: throw .wrongType
        }
    }
    handlers.register("set") { (inv: inout Invocation) throws(RedisError) in
        guard inv.args.count == 3 else { throw .syntax }
        let key = inv.args[1]
        inv.db.insert(key, .string(inv.args[2].compacted()))
        inv.touched(key)
        inv.propagateAsIs()
        inv.reply.ok()
    }
}
