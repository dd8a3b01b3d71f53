import Foundation
import NIOCore
import RESP
import TestSupport
import Testing

@testable import KeywayNode

/// INFO text as `section -> [field: value]`; records an issue for any line that is not `# Section`,
/// `field:value` or the blank line between sections.
func parseInfo(_ reply: RESPValue, sourceLocation: SourceLocation = #_sourceLocation) -> [String: [String: String]] {
    guard let text = reply.string else {
        Issue.record("INFO reply: \(reply)", sourceLocation: sourceLocation)
        return [:]
    }
    #expect(text.hasSuffix("\r\n") || text.isEmpty, sourceLocation: sourceLocation)
    var sections: [String: [String: String]] = [:]
    var current = ""
    for line in text.components(separatedBy: "\r\n").dropLast() {
        if line.isEmpty { continue }
        if line.hasPrefix("# ") {
            current = String(line.dropFirst(2)).lowercased()
            sections[current] = [:]
            continue
        }
        let parts = line.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, !current.isEmpty else {
            Issue.record("INFO line \(line)", sourceLocation: sourceLocation)
            continue
        }
        sections[current, default: [:]][String(parts[0])] = String(parts[1])
    }
    return sections
}

@Suite("Node: INFO and CONFIG")
struct InfoConfigTests {
    @Test("INFO: Redis's sections and field names, default/all/everything and several sections")
    func infoStructure() async throws {
        let node = try await NodeHarness.start()
        let client = try await node.client()
        let info = parseInfo(try await client.command(["INFO"]))
        #expect(Set(info.keys) == [
            "server", "clients", "memory", "persistence", "stats", "replication", "cpu", "modules", "errorstats",
            "cluster", "keyspace",
        ])
        let required: [String: [String]] = [
            "server": ["redis_version", "redis_mode", "os", "arch_bits", "process_id", "run_id", "tcp_port",
                       "uptime_in_seconds"],
            "clients": ["connected_clients", "maxclients", "blocked_clients"],
            "memory": ["used_memory", "used_memory_human", "maxmemory", "maxmemory_policy"],
            "persistence": ["loading", "rdb_changes_since_last_save", "rdb_last_save_time", "aof_enabled"],
            "stats": ["total_connections_received", "total_commands_processed", "instantaneous_ops_per_sec",
                      "rejected_connections", "expired_keys", "evicted_keys", "keyspace_hits", "keyspace_misses",
                      "total_net_input_bytes", "total_error_replies"],
            "replication": ["role", "connected_slaves", "master_replid", "master_repl_offset"],
            "cpu": ["used_cpu_sys", "used_cpu_user"],
            "cluster": ["cluster_enabled"],
        ]
        for (section, fields) in required {
            for field in fields { #expect(info[section]?[field] != nil, "\(section).\(field)") }
        }
        #expect(info["server"]?["redis_version"] == "7.0.15")
        #expect(info["server"]?["redis_mode"] == "standalone")
        #expect(info["server"]?["tcp_port"] == String(node.port))
        #expect(info["server"]?["process_id"] == String(getpid()))
        #expect(info["server"]?["run_id"]?.count == 40)
        #expect(info["clients"]?["connected_clients"] == "1")
        #expect(info["memory"]?["maxmemory"] == "0")
        #expect(info["persistence"]?["aof_enabled"] == "0")
        #expect(info["replication"]?["role"] == "master")
        #expect(info["replication"]?["connected_slaves"] == "0")
        #expect(info["replication"]?["master_replid"]?.count == 40)
        #expect(info["cluster"]?["cluster_enabled"] == "0")
        // An empty node has no db lines (redis-cli --cluster relies on it).
        #expect(info["keyspace"] == [:])
        _ = try await client.command(["SET", "a", "1"])
        _ = try await client.command(["SET", "b", "1", "EX", "100"])
        _ = try await client.command(["SELECT", "2"])
        _ = try await client.command(["SET", "c", "1"])
        let keyspace = parseInfo(try await client.command(["INFO", "keyspace"]))
        #expect(keyspace.keys.sorted() == ["keyspace"])
        #expect(keyspace["keyspace"]?["db0"]?.hasPrefix("keys=2,expires=1,avg_ttl=") == true)
        #expect(keyspace["keyspace"]?["db2"] == "keys=1,expires=0,avg_ttl=0")
        #expect(keyspace["keyspace"]?["db1"] == nil)
        // Several sections, any case, in Redis's order whatever the argument order.
        let two = try await client.command(["INFO", "CLIENTS", "server"])
        #expect(two.string?.hasPrefix("# Server\r\n") == true)
        #expect(two.string?.contains("\r\n\r\n# Clients\r\n") == true)
        #expect(Set(parseInfo(try await client.command(["INFO", "all"])).keys) == [
            "server", "clients", "memory", "persistence", "stats", "replication", "cpu", "modules", "commandstats",
            "errorstats", "latencystats", "cluster", "keyspace",
        ])
        #expect(Set(parseInfo(try await client.command(["INFO", "everything"])).keys).count == 13)
        #expect(Set(parseInfo(try await client.command(["INFO", "default"])).keys).count == 11)
        #expect(try await client.command(["INFO", "bogus"]) == .bulk(""))
        client.close()
        await node.stop()
    }

    @Test("INFO counts connections, commands, hits/misses, errors (errorstats) and commandstats")
    func infoCounters() async throws {
        let node = try await NodeHarness.start()
        let client = try await node.client()
        _ = try await client.command(["CONFIG", "RESETSTAT"])
        _ = try await client.command(["SET", "k", "v"])
        _ = try await client.command(["GET", "k"])
        _ = try await client.command(["GET", "nope"])
        _ = try await client.command(["NOSUCH"])
        _ = try await client.command(["GET"])
        _ = try await client.command(["SELECT", "x"])
        _ = try await client.command(["HELLO", "9"])
        let info = parseInfo(try await client.command(["INFO", "all"]))
        #expect(info["stats"]?["keyspace_hits"] == "1")
        #expect(info["stats"]?["keyspace_misses"] == "1")
        #expect(info["stats"]?["total_error_replies"] == "4")
        #expect(info["errorstats"]?["errorstat_ERR"] == "count=3")
        #expect(info["errorstats"]?["errorstat_NOPROTO"] == "count=1")
        #expect(info["commandstats"]?["cmdstat_get"]?.hasPrefix("calls=2,usec=") == true)
        #expect(info["commandstats"]?["cmdstat_get"]?.hasSuffix(",rejected_calls=0,failed_calls=0") == true)
        #expect(info["commandstats"]?["cmdstat_select"]?.hasSuffix("failed_calls=1") == true)
        #expect(info["commandstats"]?["cmdstat_config|resetstat"] != nil)
        if let total = info["stats"]?["total_commands_processed"].flatMap(Int.init) { #expect(total >= 8) }
        if let input = info["stats"]?["total_net_input_bytes"].flatMap(Int.init) { #expect(input > 100) }
        _ = try await client.command(["CONFIG", "RESETSTAT"])
        let reset = parseInfo(try await client.command(["INFO", "errorstats"]))
        #expect(reset["errorstats"] == [:])
        client.close()
        await node.stop()
    }

    @Test("INFO cluster and keyspace in cluster mode: cluster_enabled:1, no db0 line while empty")
    func infoClusterMode() async throws {
        let node = try await NodeHarness.start(clusterEnabled: true)
        let client = try await node.client()
        let info = parseInfo(try await client.command(["INFO"]))
        #expect(info["cluster"]?["cluster_enabled"] == "1")
        #expect(info["server"]?["redis_mode"] == "cluster")
        #expect(info["keyspace"] == [:])
        client.close()
        await node.stop()
    }

    @Test("INFO in RESP3 is a verbatim string")
    func infoVerbatim() async throws {
        let node = try await NodeHarness.start()
        let client = try await node.client()
        _ = try await client.command(["HELLO", "3"])
        let reply = try await client.command(["INFO", "server"])
        guard case .verbatimString(let format, let text) = reply else {
            Issue.record("INFO: \(reply)")
            await node.stop()
            return
        }
        #expect(format == "txt")
        #expect(String(buffer: text).hasPrefix("# Server\r\nredis_version:7.0.15\r\n"))
        client.close()
        await node.stop()
    }

    @Test("CONFIG GET of the shared parameters and CONFIG SET errors equal redis-server's",
          .enabled(if: RedisServerProcess.isAvailable), arguments: [false, true])
    func configDifferential(resp3: Bool) async throws {
        try await withDifferential(resp3: resp3) { diff in
            let shared = [
                "save", "appendonly", "maxmemory", "maxclients", "timeout", "databases", "cluster-enabled",
                "cluster-node-timeout", "proto-max-bulk-len", "client-query-buffer-limit", "client-output-buffer-limit",
                "slowlog-log-slower-than", "slowlog-max-len", "hash-max-listpack-entries", "hash-max-listpack-value",
                "set-max-intset-entries", "zset-max-listpack-entries", "zset-max-listpack-value", "list-max-listpack-size",
                "notify-keyspace-events", "dbfilename", "maxmemory-policy", "hash-max-ziplist-entries", "lua-time-limit",
                "repl-backlog-size", "tcp-keepalive", "hz", "requirepass", "MAXCLIENTS",
            ]
            try await diff.run(shared.map { ["CONFIG", "GET", $0] } + [
                ["CONFIG", "GET", "nosuch"], ["CONFIG", "GET", "maxclients", "maxclients"], ["CONFIG", "GET"],
            ])
            try await diff.run(
                [["CONFIG", "GET", "*max-*-entries*"], ["CONFIG", "GET", "slowlog*"], ["CONFIG", "GET", "ZSET*"],
                 ["CONFIG", "GET", "maxclients", "timeout", "nosuch"],
                 ["CONFIG", "GET", "zset-max-listpack-*", "*-max-ziplist-value"]],
                compare: { _, redis, node in
                    let pairs: (RESPValue) -> [String] = { value in
                        switch value {
                        case .map(let pairs): return pairs.map { "\($0.key)=\($0.value)" }.sorted()
                        case .array(let flat):
                            return stride(from: 0, to: flat.count - 1, by: 2).map { "\(flat[$0])=\(flat[$0 + 1])" }.sorted()
                        default: return [value.description]
                        }
                    }
                    return pairs(redis) == pairs(node)
                })
            try await diff.run([
                ["CONFIG", "SET", "maxclients", "500"], ["CONFIG", "GET", "maxclients"], ["CONFIG", "SET", "maxclients", "0"],
                ["CONFIG", "SET", "maxclients", "x"], ["CONFIG", "SET", "MAXCLIENTS", "x"], ["CONFIG", "SET", "nosuch", "1"],
                ["CONFIG", "SET", "maxclients", "10", "MAXCLIENTS", "20"], ["CONFIG", "SET", "maxclients", "100", "timeout"],
                ["CONFIG", "SET", "maxclients"], ["CONFIG", "SET", "maxclients", "100", "databases", "3"],
                ["CONFIG", "SET", "databases", "3"], ["CONFIG", "SET", "dir", "/tmp"], ["CONFIG", "SET", "daemonize", "yes"],
                ["CONFIG", "SET", "maxclients", "100", "timeout", "x"], ["CONFIG", "GET", "maxclients"],
                ["CONFIG", "SET", "maxclients", "10000", "timeout", "0"],
                ["CONFIG", "SET", "appendonly", "maybe"], ["CONFIG", "SET", "maxmemory", "1gb"], ["CONFIG", "GET", "maxmemory"],
                ["CONFIG", "SET", "maxmemory", "-1"], ["CONFIG", "SET", "maxmemory", "1.5gb"], ["CONFIG", "SET", "maxmemory", "0"],
                ["CONFIG", "SET", "maxmemory-policy", "bogus"], ["CONFIG", "SET", "maxmemory-policy", "ALLKEYS-LRU"],
                ["CONFIG", "GET", "maxmemory-policy"], ["CONFIG", "SET", "maxmemory-policy", "noeviction"],
                ["CONFIG", "SET", "save", "3600 1 300 100"], ["CONFIG", "GET", "save"], ["CONFIG", "SET", "save", "10"],
                ["CONFIG", "SET", "save", "a b"], ["CONFIG", "SET", "save", ""], ["CONFIG", "GET", "save"],
                ["CONFIG", "SET", "client-output-buffer-limit", "normal 10mb 5mb 10"],
                ["CONFIG", "GET", "client-output-buffer-limit"],
                ["CONFIG", "SET", "client-output-buffer-limit", "replica 1 1 1 slave 2 2 2"],
                ["CONFIG", "GET", "client-output-buffer-limit"],
                ["CONFIG", "SET", "client-output-buffer-limit", "bogus 1 1 1"],
                ["CONFIG", "SET", "client-output-buffer-limit", "normal 1 x 1"],
                ["CONFIG", "SET", "client-output-buffer-limit", "normal 1 1"],
                ["CONFIG", "SET", "client-output-buffer-limit", "normal 0 0 0 slave 268435456 67108864 60"],
                ["CONFIG", "SET", "notify-keyspace-events", "KEA"], ["CONFIG", "GET", "notify-keyspace-events"],
                ["CONFIG", "SET", "notify-keyspace-events", "Kgx"], ["CONFIG", "GET", "notify-keyspace-events"],
                ["CONFIG", "SET", "notify-keyspace-events", "Q"], ["CONFIG", "SET", "notify-keyspace-events", ""],
                ["CONFIG", "SET", "client-query-buffer-limit", "1000"], ["CONFIG", "SET", "client-query-buffer-limit", "2mb"],
                ["CONFIG", "GET", "client-query-buffer-limit"], ["CONFIG", "SET", "client-query-buffer-limit", "1gb"],
                ["CONFIG", "SET", "proto-max-bulk-len", "100"], ["CONFIG", "SET", "slowlog-log-slower-than", "-2"],
                ["CONFIG", "SET", "hash-max-ziplist-entries", "100"], ["CONFIG", "GET", "hash-max-listpack-entries"],
                ["CONFIG", "SET", "hash-max-listpack-entries", "512"], ["CONFIG", "SET", "list-max-listpack-size", "-3"],
                ["CONFIG", "GET", "list-max-ziplist-size"], ["CONFIG", "SET", "list-max-listpack-size", "-2"],
                ["CONFIG", "SET", "latency-tracking-info-percentiles", "50 200"],
                ["CONFIG", "SET", "oom-score-adj-values", "1 2"], ["CONFIG", "SET", "cluster-announce-hostname", "a_b"],
                ["CONFIG", "SET", "maxmemory-clients", "10%"], ["CONFIG", "GET", "maxmemory-clients"],
                ["CONFIG", "SET", "maxmemory-clients", "0"], ["CONFIG", "SET", "loglevel", "bogus"],
                ["CONFIG", "SET", "active-expire-effort", "11"], ["CONFIG", "SET", "hz", "x"],
                ["CONFIG", "RESETSTAT"], ["CONFIG", "REWRITE"], ["CONFIG", "NOSUCH"],
            ])
        }
    }

    @Test("CONFIG GET * lists every parameter redis-server lists", .enabled(if: RedisServerProcess.isAvailable))
    func configGetAll() async throws {
        try await withDifferential(resp3: true) { diff in
            let redis = try await diff.redisClient.command(["CONFIG", "GET", "*"])
            let node = try await diff.nodeClient.command(["CONFIG", "GET", "*"])
            guard case .map(let redisPairs) = redis, case .map(let nodePairs) = node else {
                Issue.record("CONFIG GET *: \(redis) / \(node)")
                return
            }
            #expect(Set(redisPairs.map(\.key.description)) == Set(nodePairs.map(\.key.description)))
            // Values that legitimately differ: where each server runs, listens and logs, and the debug command default.
            let differing: Set<String> = ["\"dir\"", "\"port\"", "\"bind\"", "\"logfile\"", "\"enable-debug-command\""]
            let redisValues = Dictionary(redisPairs.map { ($0.key.description, $0.value) }, uniquingKeysWith: { a, _ in a })
            for pair in nodePairs where !differing.contains(pair.key.description) {
                #expect(redisValues[pair.key.description] == pair.value, "\(pair.key)")
            }
        }
    }

    @Test("CONFIG SET takes effect: maxclients, slowlog, notify flags, encodings; CONFIG REWRITE writes the file")
    func configSetAndRewrite() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("keyway-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("node.conf").path
        try """
            # Keyway test config
            port 7777
            maxclients 50
            save 900 1
            save 300 10
            slowlog-max-len 64
            hash-max-ziplist-entries 100

            """.write(toFile: path, atomically: true, encoding: .utf8)
        var loaded = try NodeConfiguration.load(file: path)
        #expect(loaded.port == 7777)
        #expect(loaded.maxClients == 50)
        #expect(loaded.save == "900 1 300 10")
        #expect(loaded.slowlogMaxLength == 64)
        #expect(loaded.hashMaxListpackEntries == 100)
        #expect(loaded.configFile == path)
        #expect(throws: ConfigFileError.self) {
            let bad = directory.appendingPathComponent("bad.conf").path
            try "maxclients zero\n".write(toFile: bad, atomically: true, encoding: .utf8)
            _ = try NodeConfiguration.load(file: bad)
        }
        loaded.port = 0
        loaded.threads = 2
        let server = try await NodeServer.start(configuration: loaded)
        let client = try await RESPTestClient.connect(port: server.port)
        #expect(try await client.command(["CONFIG", "SET", "maxclients", "3000", "cluster-node-timeout", "5000"])
            == .simpleString("OK"))
        #expect(server.state.lock.withLock { server.state.configuration.maxClients } == 3000)
        #expect(try await client.command(["CONFIG", "SET", "hash-max-listpack-entries", "7"]) == .simpleString("OK"))
        #expect(server.state.lock.withLock { server.state.configuration.hashMaxListpackEntries } == 7)
        #expect(try await client.command(["CONFIG", "SET", "notify-keyspace-events", "Ex"]) == .simpleString("OK"))
        #expect(server.state.lock.withLock { server.state.configuration.notifyKeyspaceEvents } == [.keyevent, .expired])
        #expect(try await client.command(["CONFIG", "SET", "maxmemory", "2gb"]) == .simpleString("OK"))
        #expect(try await client.command(["CONFIG", "REWRITE"]) == .simpleString("OK"))
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.first == "# Keyway test config")
        #expect(lines.contains("maxclients 3000"))
        #expect(lines.contains("save 900 1"))
        #expect(lines.contains("save 300 10"))
        #expect(lines.contains("hash-max-listpack-entries 7"))
        #expect(lines.contains("# Generated by CONFIG REWRITE"))
        #expect(lines.contains("cluster-node-timeout 5000"))
        #expect(lines.contains("maxmemory 2gb"))
        #expect(lines.contains("notify-keyspace-events \"xE\""))
        #expect(lines.contains("port 7777"))
        // The rewritten file loads back to the same values.
        let reloaded = try NodeConfiguration.load(file: path)
        #expect(reloaded.maxClients == 3000)
        #expect(reloaded.maxMemory == 2 * 1024 * 1024 * 1024)
        #expect(reloaded.clusterNodeTimeout == 5000)
        #expect(reloaded.notifyKeyspaceEvents == [.keyevent, .expired])
        client.close()
        await server.shutdown()
    }

    @Test("Config file lines are split like Redis's sdssplitargs")
    func splitArguments() {
        #expect(ConfigFile.splitArguments("save 900 1") == ["save", "900", "1"])
        #expect(ConfigFile.splitArguments("  requirepass \"a b\\n\\x41\"  ") == ["requirepass", "a b\nA"])
        #expect(ConfigFile.splitArguments("save ''") == ["save", ""])
        #expect(ConfigFile.splitArguments("x 'it\\'s'") == ["x", "it's"])
        #expect(ConfigFile.splitArguments("x \"unbalanced") == nil)
        #expect(ConfigFile.splitArguments("x \"a\"b") == nil)
        #expect(ConfigFile.quote("") == "\"\"")
        #expect(ConfigFile.quote("a b") == "\"a b\"")
        #expect(ConfigFile.quote("plain") == "plain")
        #expect(ConfigFile.bytesText(1024 * 1024 * 1024) == "1gb")
        #expect(ConfigFile.bytesText(3 * 1024) == "3kb")
        #expect(ConfigFile.bytesText(1000) == "1000")
        #expect(ConfigKind.parseMemory("1gb") == Int64(1 << 30))
        #expect(ConfigKind.parseMemory("5k") == Int64(5000))
        #expect(ConfigKind.parseMemory("-1") == nil)
        #expect(ConfigKind.parseMemory("1.5gb") == nil)
        #expect(ConfigKind.parseMemory("") == nil)
        #expect(ConfigKind.parseMemory("99999999999999999999") == nil)
    }
}
