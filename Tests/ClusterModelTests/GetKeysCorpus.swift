import ClusterModel

/// Sample invocations for the `COMMAND GETKEYS` agreement test: hand-written cases for every key-position form
/// and Redis special case, plus systematic ones built from the table (every command at and around its arity).
enum GetKeysCorpus {
    /// Hand-written invocations, one per line, words separated by single spaces; `''` is an empty argument.
    static let handWritten: [String] = """
        get k1
        GET k1
        get k1 extra
        set k1 v
        set k1 v get
        set k1 v ex 10 get
        set k1 v nx px 5
        setex k1 10 v
        getex k1 persist
        getdel k1
        append k1 v
        strlen k1
        incr k1
        incrbyfloat k1 1.5
        setrange k1 0 v
        getrange k1 0 -1
        substr k1 0 1
        lcs k1 k2
        lcs k1 k2 len
        mget k1
        mget k1 k2 k3
        mset k1 v1
        mset k1 v1 k2 v2 k3 v3
        mset k1 v1 k2
        msetnx k1 v1 k2 v2
        del k1
        del k1 k2 k3 k4
        unlink k1 k2
        exists k1 k2 k3
        touch k1 k2
        copy k1 k2
        copy k1 k2 db 1 replace
        rename k1 k2
        renamenx k1 k2
        move k1 1
        dump k1
        restore k1 0 payload
        restore k1 0 payload replace absttl
        restore-asking k1 0 payload
        object encoding k1
        OBJECT ENCODING k1
        object freq k1
        object idletime k1
        object refcount k1
        object help
        object help extra
        object nosuch k1
        object encoding
        object encoding k1 k2
        memory usage k1
        memory usage k1 samples 5
        memory stats
        memory doctor
        xinfo stream s1
        xinfo stream s1 full count 5
        xinfo groups s1
        xinfo consumers s1 g1
        xinfo help
        xgroup create s1 g1 $
        xgroup create s1 g1 $ mkstream entriesread 3
        xgroup createconsumer s1 g1 c1
        xgroup delconsumer s1 g1 c1
        xgroup destroy s1 g1
        xgroup setid s1 g1 0
        expire k1 10
        expire k1 10 nx
        pexpireat k1 1000
        expiretime k1
        ttl k1
        persist k1
        type k1
        sort k1
        sort k1 desc
        sort k1 store d1
        sort k1 STORE d1
        sort k1 by w_* get o_* store d1
        sort k1 limit 0 10 store d1
        sort k1 store d1 store d2
        sort k1 store
        sort k1 limit store d1 x
        sort k1 get store store d1
        sort k1 by store store d1
        sort k1 store limit 0 1
        sort k1 store store d1
        sort k1 alpha store d1 limit 0 5
        sort_ro k1
        sort_ro k1 by w_* get o_* alpha
        sort_ro k1 store d1
        migrate h1 6379 k1 0 5000
        migrate h1 6379 k1 0 5000 copy replace
        migrate h1 6379 '' 0 5000 keys k1 k2 k3
        migrate h1 6379 '' 0 5000 copy replace keys k1 k2
        migrate h1 6379 '' 0 5000 auth pw keys k1
        migrate h1 6379 '' 0 5000 auth2 user pw keys k1 k2
        migrate h1 6379 '' 0 5000 auth keys keys k1
        migrate h1 6379 '' 0 5000 auth2 keys keys keys k1
        migrate h1 6379 k1 0 5000 keys k2 k3
        migrate h1 6379 '' 0 5000 keys
        migrate h1 6379 '' 0 5000
        migrate h1 6379 '' 0 5000 KEYS k1
        migrate h1 6379 k1 0
        eval s1 0
        eval s1 1 k1
        eval s1 2 k1 k2 a1
        eval s1 3 k1 k2
        eval s1 -1 k1
        eval s1 abc k1
        eval s1 2abc k1 k2
        eval s1 01 k1
        eval s1 +1 k1
        eval s1 4294967297 k1
        eval s1 4294967296 k1
        eval s1 -4294967295 k1
        eval s1 99999999999999999999 k1
        eval s1 2147483648 k1
        eval s1
        evalsha sha1 1 k1 a1
        evalsha_ro sha1 2 k1 k2
        eval_ro s1 1 k1
        fcall f1 0
        fcall f1 2 k1 k2 a1
        fcall_ro f1 1 k1
        fcall f1 x k1
        zunionstore d1 2 k1 k2
        zunionstore d1 2 k1 k2 weights 1 2
        zunionstore d1 1 k1 k2
        zunionstore d1 3 k1 k2
        zunionstore d1 0 k1
        zunionstore d1 -1 k1
        zunionstore d1 2abc k1 k2
        zunionstore d1 x k1
        zinterstore d1 2 k1 k2 aggregate max
        zdiffstore d1 2 k1 k2
        zunion 2 k1 k2
        zunion 2 k1 k2 withscores
        zunion 3 k1 k2
        zunion 2abc k1 k2
        zinter 1 k1
        zdiff 2 k1 k2
        zintercard 2 k1 k2
        zintercard 2 k1 k2 limit 5
        zintercard 0 k1
        sintercard 1 k1
        sintercard 2 k1 k2 limit 1
        sintercard 3 k1 k2
        lmpop 1 k1 left
        lmpop 2 k1 k2 right count 3
        lmpop 3 k1 k2 left
        lmpop 0 k1 left
        zmpop 2 k1 k2 min
        zmpop 2abc k1 k2 min
        blmpop 0 1 k1 left
        blmpop 5 2 k1 k2 right
        blmpop 5 x k1 k2 right
        bzmpop 0.5 2 k1 k2 max count 2
        bzmpop 0 3 k1 k2 max
        blpop k1 0
        blpop k1 k2 k3 0
        brpop k1 k2 1.5
        bzpopmin k1 k2 0
        bzpopmax k1 0
        brpoplpush k1 k2 0
        blmove k1 k2 left right 0
        lmove k1 k2 left right
        rpoplpush k1 k2
        smove k1 k2 m1
        sdiffstore d1 k1 k2
        sinterstore d1 k1
        sunionstore d1 k1 k2 k3
        sdiff k1 k2
        sinter k1
        sunion k1 k2 k3
        bitop and d1 k1 k2
        bitop not d1 k1
        bitcount k1 0 1 bit
        bitpos k1 1 0
        bitfield k1 get u8 0
        bitfield k1 set u8 0 1 get u4 0
        bitfield k1 incrby u2 100 1 overflow sat
        bitfield_ro k1 get u8 0
        getbit k1 0
        setbit k1 0 1
        pfadd k1 a1 a2
        pfcount k1 k2 k3
        pfmerge d1 k1 k2
        pfdebug getreg k1
        pfselftest
        geoadd k1 13.3 38.1 m1
        geodist k1 m1 m2 km
        geohash k1 m1 m2
        geopos k1 m1
        georadius k1 15 37 200 km
        georadius k1 15 37 200 km store d1
        georadius k1 15 37 200 km STOREDIST d2
        georadius k1 15 37 200 km store d1 storedist d2
        georadius k1 15 37 200 km storedist d2 store d1
        georadius k1 15 37 200 km withdist store
        georadius k1 15 37 200 km store store d1
        georadius k1 15 37 200 km count 5 asc store d1
        georadius k1 15 37 200 store d1 x
        georadius_ro k1 15 37 200 km withcoord
        georadiusbymember k1 m1 100 km
        georadiusbymember k1 m1 100 km store d1
        georadiusbymember k1 m1 100 km store d1 storedist d2
        georadiusbymember k1 m1 100 store d1
        georadiusbymember_ro k1 m1 100 km
        geosearch k1 frommember m1 byradius 10 km
        geosearchstore d1 k1 frommember m1 bybox 1 1 km storedist
        xadd s1 * f1 v1
        xadd s1 maxlen ~ 100 * f1 v1
        xlen s1
        xrange s1 - +
        xrevrange s1 + - count 1
        xdel s1 1-1 2-2
        xtrim s1 maxlen 10
        xack s1 g1 1-1
        xclaim s1 g1 c1 0 1-1
        xautoclaim s1 g1 c1 0 0
        xpending s1 g1
        xsetid s1 5-5
        xread streams s1 0
        xread streams s1 s2 0 0
        xread count 2 block 0 streams s1 s2 0 0
        xread STREAMS s1 s2 s3 0 0 0
        xread streams s1 s2 0
        xread count 1 streams
        xread count 1 streams s1
        xread count streams streams s1 0
        xread block 0 count 1 streams streams 0
        xread streams streams streams 0 0
        xread noack streams s1 0
        xread group g1 c1 streams s1 0
        xread foo streams s1 0
        xreadgroup group g1 c1 streams s1 0
        xreadgroup group g1 c1 count 1 block 0 noack streams s1 s2 0 0
        xreadgroup group streams c1 streams s1 0
        xreadgroup group g1 streams streams s1 0
        xreadgroup group g1 c1 streams s1 s2 0
        xreadgroup group g1 c1 count 1 streams
        hset h1 f1 v1
        hset h1 f1 v1 f2 v2
        hmset h1 f1 v1
        hget h1 f1
        hmget h1 f1 f2
        hgetall h1
        hdel h1 f1 f2
        hincrby h1 f1 1
        hscan h1 0 match * count 10
        hrandfield h1 2 withvalues
        lpush l1 a1 a2
        rpush l1 a1
        lrange l1 0 -1
        linsert l1 before p1 a1
        lpos l1 a1 rank 1
        lset l1 0 a1
        ltrim l1 0 1
        sadd s1 m1 m2
        sismember s1 m1
        smismember s1 m1 m2
        spop s1 2
        srandmember s1 -2
        sscan s1 0
        zadd z1 1 m1 2 m2
        zadd z1 nx gt ch incr 1 m1
        zrange z1 0 -1 withscores
        zrangestore d1 z1 0 -1
        zrangestore d1 z1 0 -1 byscore rev limit 0 1
        zrank z1 m1
        zrevrank z1 m1
        zscore z1 m1
        zmscore z1 m1 m2
        zpopmin z1 2
        zrandmember z1 1 withscores
        zremrangebyscore z1 0 1
        zscan z1 0
        spublish c1 m1
        ssubscribe c1 c2
        sunsubscribe c1
        sunsubscribe
        publish c1 m1
        subscribe c1
        watch k1 k2
        watch k1
        unwatch
        multi
        exec
        ping
        ping hello
        echo hello
        keys *
        scan 0
        scan 0 match a* count 10 type string
        dbsize
        flushall
        flushall async
        randomkey
        info
        info server
        time
        select 1
        config get maxmemory
        config set maxmemory 1
        cluster setslot 1 stable
        cluster keyslot k1
        cluster getkeysinslot 1 10
        cluster countkeysinslot 1
        cluster nosuch
        client setname n1
        client nosuch x
        command info get
        script load s1
        script exists sha1 sha2
        script flush
        function load code
        function list
        latency latest
        slowlog get 10
        acl setuser u1 on
        debug object k1
        wait 1 0
        lolwut version 5
        nosuchcommand k1
        nosuch a b c
        ''
        '' k1
        get
        """
        .split(separator: "\n")
        .map { String($0) }

    /// The argv of a hand-written line.
    static func words(_ line: String) -> [String] {
        line.split(separator: " ", omittingEmptySubsequences: false).map { $0 == "''" ? "" : String($0) }
    }

    /// Invocations with binary arguments: NUL bytes end C-string comparisons in Redis's key procedures.
    static let binary: [[[UInt8]]] = [
        [Array("sort".utf8), Array("k1".utf8), Array("STORE".utf8) + [0, 0x78], Array("d1".utf8)],
        [Array("sort".utf8), Array("k1".utf8), Array("limit".utf8) + [0], Array("0".utf8), Array("1".utf8),
         Array("store".utf8), Array("d1".utf8)],
        [Array("xread".utf8), Array("STREAMS".utf8) + [0], Array("s1".utf8), Array("0".utf8)],
        [Array("xread".utf8), Array("count".utf8) + [0, 0x31], Array("2".utf8), Array("streams".utf8),
         Array("s1".utf8), Array("0".utf8)],
        [Array("migrate".utf8), Array("h1".utf8), Array("1".utf8), [], Array("0".utf8), Array("5".utf8),
         Array("KEYS".utf8) + [0], Array("k1".utf8)],
        [Array("migrate".utf8), Array("h1".utf8), Array("1".utf8), [0], Array("0".utf8), Array("5".utf8),
         Array("keys".utf8), Array("k1".utf8)],
        [Array("zunionstore".utf8), Array("d1".utf8), Array("2".utf8) + [0], Array("k1".utf8), Array("k2".utf8)],
        [Array("eval".utf8), Array("s1".utf8), Array("1".utf8) + [0, 0x39], Array("k1".utf8)],
        [Array("georadius".utf8), Array("k1".utf8), Array("1".utf8), Array("2".utf8), Array("3".utf8),
         Array("km".utf8), Array("store".utf8) + [0], Array("d1".utf8)],
        [Array("g".utf8) + [0] + Array("et".utf8), Array("k1".utf8)],
        [Array("GE".utf8) + [0xD4], Array("k1".utf8)],
    ]

    /// For every command and subcommand, invocations with distinct arguments at, below and above its arity.
    static func systematic(_ table: CommandTable) -> [[String]] {
        var result: [[String]] = []
        for spec in table.allCommands where !spec.isContainer {
            let prefix = spec.isSubcommand ? [String(spec.containerName), String(spec.subcommandName)] : [spec.name]
            let minimum = abs(spec.arity)
            let counts = spec.arity > 0 ? [minimum - 1, minimum, minimum + 1] : [minimum - 1, minimum, minimum + 1,
                                                                                 minimum + 2, minimum + 4]
            for count in counts where count >= 2 && count >= prefix.count {
                var words = prefix.map { $0.uppercased() }
                while words.count < count {
                    words.append("a\(words.count)")
                }
                result.append(words)
            }
        }
        return result
    }
}
