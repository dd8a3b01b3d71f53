import ClusterModel
import Foundation
import NIOCore

// INFO, with Redis 7.0's sections and field names (`field:value\r\n` lines under `# Section` headers), and the
// small server commands that report the same state: LASTSAVE, SAVE, BGSAVE, ROLE, WAIT, MEMORY, LATENCY.

/// The rates INFO reports as `instantaneous_*`: Redis samples them 10 times a second and averages 16 samples.
struct InstantaneousMetrics {
    private static let samples = 16
    private var last: (time: UInt64, commands: Int, input: Int, output: Int)?
    private var ops = [Double](repeating: 0, count: samples)
    private var inputRates = [Double](repeating: 0, count: samples)
    private var outputRates = [Double](repeating: 0, count: samples)
    private var index = 0

    mutating func sample(now: UInt64, commands: Int, input: Int, output: Int) {
        defer { last = (now, commands, input, output) }
        guard let last, now > last.time else { return }
        let seconds = Double(now - last.time) / 1e9
        ops[index] = Double(max(0, commands - last.commands)) / seconds
        inputRates[index] = Double(max(0, input - last.input)) / seconds
        outputRates[index] = Double(max(0, output - last.output)) / seconds
        index = (index + 1) % Self.samples
    }

    var opsPerSecond: Int { Int(ops.reduce(0, +) / Double(Self.samples)) }
    var inputKbps: Double { inputRates.reduce(0, +) / Double(Self.samples) / 1024 }
    var outputKbps: Double { outputRates.reduce(0, +) / Double(Self.samples) / 1024 }
}

/// Process-wide facts INFO prints that never change.
enum ProcessFacts {
    static let operatingSystem: String = {
        var name = utsname()
        uname(&name)
        func field<T>(_ value: T) -> String {
            withUnsafeBytes(of: value) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
        }
        return "\(field(name.sysname)) \(field(name.release)) \(field(name.machine))"
    }()

    static let executable: String = CommandLine.arguments.first.map {
        URL(fileURLWithPath: $0).standardizedFileURL.path
    } ?? ""

    /// The replication id INFO replication reports (random per process, like Redis's).
    static let replicationID: String = (0..<40).map { _ in String("0123456789abcdef".randomElement() ?? "0") }.joined()

    /// Total physical memory in bytes.
    static let totalSystemMemory: Int = {
        let pages = sysconf(Int32(_SC_PHYS_PAGES))
        let size = sysconf(Int32(_SC_PAGESIZE))
        return pages > 0 && size > 0 ? pages * size : 0
    }()
}

/// Memory figures for INFO memory and MEMORY STATS.
struct MemoryFigures {
    /// Bytes in use (Redis's `used_memory`).
    var used: Int
    /// Resident set size.
    var rss: Int

    static func current() -> MemoryFigures {
        var rss = 0
        if let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) {
            let fields = statm.split(separator: " ")
            if fields.count > 1, let pages = Int(fields[1]) { rss = pages * Int(sysconf(Int32(_SC_PAGESIZE))) }
        }
        // Without jemalloc's statistics, the resident set stands for the allocated memory.
        return MemoryFigures(used: rss, rss: rss)
    }
}

/// Redis's `bytesToHuman`: `895.44K`, `11.60M`, `0B`.
func bytesToHuman(_ bytes: Int) -> String {
    let value = Double(bytes)
    if bytes < 1024 { return "\(bytes)B" }
    let units: [(Double, String)] = [
        (1024, "K"), (1024 * 1024, "M"), (1024 * 1024 * 1024, "G"), (1024.0 * 1024 * 1024 * 1024, "T"),
        (1024.0 * 1024 * 1024 * 1024 * 1024, "P"),
    ]
    for (index, (size, suffix)) in units.enumerated() where index == units.count - 1 || value < size * 1024 {
        return String(format: "%.2f%@", value / size, suffix)
    }
    return "\(bytes)B"
}

extension NodeState {
    /// The INFO sections, in Redis's order.
    static let infoSections = [
        "server", "clients", "memory", "persistence", "stats", "replication", "cpu", "modules", "commandstats",
        "errorstats", "latencystats", "cluster", "keyspace",
    ]
    static let defaultInfoSections: Set<String> = [
        "server", "clients", "memory", "persistence", "stats", "replication", "cpu", "modules", "errorstats",
        "cluster", "keyspace",
    ]

    /// The INFO text for the requested section names (lowercased; empty = default). Called under the lock.
    func infoText(sections requested: [String], session: ClientSession) -> String {
        var wanted: Set<String> = []
        if requested.isEmpty { wanted = Self.defaultInfoSections }
        for name in requested {
            switch name {
            case "default": wanted.formUnion(Self.defaultInfoSections)
            case "all", "everything": wanted.formUnion(Self.infoSections)
            default: wanted.insert(name)
            }
        }
        var text = ""
        for section in Self.infoSections where wanted.contains(section) {
            if !text.isEmpty { text += "\r\n" }
            text += infoSection(section, session: session)
        }
        return text
    }

    private func infoSection(_ section: String, session: ClientSession) -> String {
        var lines: [String] = []
        func add(_ field: String, _ value: Any) { lines.append("\(field):\(value)") }
        let config = configuration
        switch section {
        case "server":
            let uptime = Int((Self.monotonicNanoseconds() - startedAtNanoseconds) / 1_000_000_000)
            lines.append("# Server")
            add("redis_version", CommandTable.redisVersion)
            add("redis_git_sha1", "00000000")
            add("redis_git_dirty", 0)
            add("redis_build_id", "0")
            add("redis_mode", config.clusterEnabled ? "cluster" : "standalone")
            add("os", ProcessFacts.operatingSystem)
            add("arch_bits", MemoryLayout<Int>.size * 8)
            add("monotonic_clock", "POSIX clock_gettime")
            add("multiplexing_api", "epoll")
            add("atomicvar_api", "c11-builtin")
            add("gcc_version", "0.0.0")
            add("process_id", getpid())
            add("process_supervised", "no")
            add("run_id", runID)
            add("tcp_port", config.port == 0 ? (session.localPort ?? 0) : config.port)
            add("server_time_usec", Self.nowMilliseconds() * 1000)
            add("uptime_in_seconds", uptime)
            add("uptime_in_days", uptime / 86400)
            add("hz", 10)
            add("configured_hz", 10)
            add("lru_clock", Int(Self.nowMilliseconds() / 1000) & ((1 << 24) - 1))
            add("executable", ProcessFacts.executable)
            add("config_file", config.configFile.map { URL(fileURLWithPath: $0).standardizedFileURL.path } ?? "")
            add("io_threads_active", 0)
        case "clients":
            lines.append("# Clients")
            add("connected_clients", clients.count)
            add("cluster_connections", 0)
            add("maxclients", config.maxClients)
            add("client_recent_max_input_buffer", 0)
            add("client_recent_max_output_buffer", 0)
            add("blocked_clients", blocking.count)
            add("tracking_clients", 0)
            add("clients_in_timeout_table", 0)
        case "memory":
            let memory = MemoryFigures.current()
            lines.append("# Memory")
            add("used_memory", memory.used)
            add("used_memory_human", bytesToHuman(memory.used))
            add("used_memory_rss", memory.rss)
            add("used_memory_rss_human", bytesToHuman(memory.rss))
            add("used_memory_peak", memory.used)
            add("used_memory_peak_human", bytesToHuman(memory.used))
            add("used_memory_peak_perc", "100.00%")
            add("used_memory_overhead", 0)
            add("used_memory_startup", 0)
            add("used_memory_dataset", memory.used)
            add("used_memory_dataset_perc", "100.00%")
            add("total_system_memory", ProcessFacts.totalSystemMemory)
            add("total_system_memory_human", bytesToHuman(ProcessFacts.totalSystemMemory))
            add("used_memory_lua", 0)
            add("used_memory_vm_eval", 0)
            add("used_memory_lua_human", "0B")
            add("used_memory_scripts_eval", 0)
            add("number_of_cached_scripts", 0)
            add("number_of_functions", 0)
            add("number_of_libraries", 0)
            add("used_memory_vm_functions", 0)
            add("used_memory_vm_total", 0)
            add("used_memory_vm_total_human", "0B")
            add("used_memory_functions", 0)
            add("used_memory_scripts", 0)
            add("used_memory_scripts_human", "0B")
            add("maxmemory", config.maxMemory)
            add("maxmemory_human", bytesToHuman(config.maxMemory))
            add("maxmemory_policy", config.maxMemoryPolicy)
            add("mem_fragmentation_ratio", String(format: "%.2f", memory.used > 0 ? Double(memory.rss) / Double(memory.used) : 0))
            add("mem_not_counted_for_evict", 0)
            add("mem_replication_backlog", 0)
            add("mem_total_replication_buffers", 0)
            add("mem_clients_slaves", 0)
            add("mem_clients_normal", 0)
            add("mem_cluster_links", 0)
            add("mem_aof_buffer", 0)
            add("mem_allocator", "libc")
            add("active_defrag_running", 0)
            add("lazyfree_pending_objects", 0)
            add("lazyfreed_objects", 0)
        case "persistence":
            lines.append("# Persistence")
            add("loading", 0)
            add("async_loading", 0)
            add("current_cow_peak", 0)
            add("current_cow_size", 0)
            add("current_cow_size_age", 0)
            add("current_fork_perc", "0.00")
            add("current_save_keys_processed", 0)
            add("current_save_keys_total", 0)
            add("rdb_changes_since_last_save", dirty)
            add("rdb_bgsave_in_progress", 0)
            add("rdb_last_save_time", lastSaveTime)
            add("rdb_last_bgsave_status", "ok")
            add("rdb_last_bgsave_time_sec", -1)
            add("rdb_current_bgsave_time_sec", -1)
            add("rdb_saves", 0)
            add("rdb_last_cow_size", 0)
            add("rdb_last_load_keys_expired", 0)
            add("rdb_last_load_keys_loaded", 0)
            add("aof_enabled", 0)
            add("aof_rewrite_in_progress", 0)
            add("aof_rewrite_scheduled", 0)
            add("aof_last_rewrite_time_sec", -1)
            add("aof_current_rewrite_time_sec", -1)
            add("aof_last_bgrewrite_status", "ok")
            add("aof_rewrites", 0)
            add("aof_rewrites_consecutive_failures", 0)
            add("aof_last_write_status", "ok")
            add("aof_last_cow_size", 0)
            add("module_fork_in_progress", 0)
            add("module_fork_last_cow_size", 0)
        case "stats":
            lines.append("# Stats")
            add("total_connections_received", stats.totalConnections)
            add("total_commands_processed", stats.totalCommands)
            add("instantaneous_ops_per_sec", instantaneous.opsPerSecond)
            add("total_net_input_bytes", stats.netInputBytes)
            add("total_net_output_bytes", stats.netOutputBytes)
            add("total_net_repl_input_bytes", 0)
            add("total_net_repl_output_bytes", 0)
            add("instantaneous_input_kbps", String(format: "%.2f", instantaneous.inputKbps))
            add("instantaneous_output_kbps", String(format: "%.2f", instantaneous.outputKbps))
            add("instantaneous_input_repl_kbps", "0.00")
            add("instantaneous_output_repl_kbps", "0.00")
            add("rejected_connections", stats.rejectedConnections)
            add("sync_full", 0)
            add("sync_partial_ok", 0)
            add("sync_partial_err", 0)
            add("expired_keys", stats.expiredKeys)
            add("expired_stale_perc", "0.00")
            add("expired_time_cap_reached_count", 0)
            add("expire_cycle_cpu_milliseconds", 0)
            add("evicted_keys", stats.evictedKeys)
            add("evicted_clients", 0)
            add("total_eviction_exceeded_time", 0)
            add("current_eviction_exceeded_time", 0)
            add("keyspace_hits", stats.keyspaceHits)
            add("keyspace_misses", stats.keyspaceMisses)
            add("pubsub_channels", pubsub.channels.count)
            add("pubsub_patterns", pubsub.patterns.count)
            add("pubsubshard_channels", pubsub.shardChannels.count)
            add("latest_fork_usec", 0)
            add("total_forks", 0)
            add("migrate_cached_sockets", 0)
            add("slave_expires_tracked_keys", 0)
            add("active_defrag_hits", 0)
            add("active_defrag_misses", 0)
            add("active_defrag_key_hits", 0)
            add("active_defrag_key_misses", 0)
            add("total_active_defrag_time", 0)
            add("current_active_defrag_time", 0)
            add("tracking_total_keys", 0)
            add("tracking_total_items", 0)
            add("tracking_total_prefixes", 0)
            add("unexpected_error_replies", 0)
            add("total_error_replies", stats.errorReplies)
            add("dump_payload_sanitizations", 0)
            add("total_reads_processed", stats.totalCommands)
            add("total_writes_processed", stats.totalCommands)
            add("io_threaded_reads_processed", 0)
            add("io_threaded_writes_processed", 0)
            add("reply_buffer_shrinks", 0)
            add("reply_buffer_expands", 0)
        case "replication":
            lines.append("# Replication")
            add("role", "master")
            add("connected_slaves", 0)
            add("master_failover_state", "no-failover")
            add("master_replid", ProcessFacts.replicationID)
            add("master_replid2", String(repeating: "0", count: 40))
            add("master_repl_offset", 0)
            add("second_repl_offset", -1)
            add("repl_backlog_active", 0)
            add("repl_backlog_size", 1_048_576)
            add("repl_backlog_first_byte_offset", 0)
            add("repl_backlog_histlen", 0)
        case "cpu":
            var usage = rusage()
            #if os(Linux)
            getrusage(RUSAGE_SELF.rawValue, &usage)
            #else
            getrusage(RUSAGE_SELF, &usage)
            #endif
            func seconds(_ time: timeval) -> String {
                String(format: "%.6f", Double(time.tv_sec) + Double(time.tv_usec) / 1e6)
            }
            lines.append("# CPU")
            add("used_cpu_sys", seconds(usage.ru_stime))
            add("used_cpu_user", seconds(usage.ru_utime))
            add("used_cpu_sys_children", "0.000000")
            add("used_cpu_user_children", "0.000000")
            add("used_cpu_sys_main_thread", seconds(usage.ru_stime))
            add("used_cpu_user_main_thread", seconds(usage.ru_utime))
        case "modules":
            lines.append("# Modules")
        case "commandstats":
            lines.append("# Commandstats")
            for entry in commandStats.compactMap({ $0 }).sorted(by: { $0.name < $1.name })
            where entry.calls > 0 || entry.failedCalls > 0 || entry.rejectedCalls > 0 {
                let perCall = entry.calls > 0 ? Double(entry.microseconds) / Double(entry.calls) : 0
                lines.append(
                    "cmdstat_\(entry.name):calls=\(entry.calls),usec=\(entry.microseconds),usec_per_call="
                        + String(format: "%.2f", perCall)
                        + ",rejected_calls=\(entry.rejectedCalls),failed_calls=\(entry.failedCalls)")
            }
        case "errorstats":
            lines.append("# Errorstats")
            for (code, count) in errorStats.sorted(by: { $0.key < $1.key }) {
                lines.append("errorstat_\(code):count=\(count)")
            }
        case "latencystats":
            lines.append("# Latencystats")
        case "cluster":
            lines.append("# Cluster")
            add("cluster_enabled", config.clusterEnabled ? 1 : 0)
        case "keyspace":
            lines.append("# Keyspace")
            let now = Self.nowMilliseconds()
            for db in databases where db.count > 0 {
                lines.append("db\(db.index):keys=\(db.count),expires=\(db.expiresCount),avg_ttl=\(averageTTL(db, now: now))")
            }
        default:
            return ""
        }
        return lines.map { $0 + "\r\n" }.joined()
    }

    /// The average remaining TTL in ms over a sample of the db's volatile keys (Redis estimates it too).
    private func averageTTL(_ db: Database, now: Int64) -> Int64 {
        guard db.expiresCount > 0 else { return 0 }
        var total: Int64 = 0
        var count: Int64 = 0
        for at in db.expiryTimes(limit: 64) where at > now {
            total += at - now
            count += 1
        }
        return count > 0 ? total / count : 0
    }
}

func registerInfoCommands(_ handlers: inout CommandHandlers) {
    handlers.register("info") { (inv: inout Invocation) throws(RedisError) in
        let sections = inv.args.dropFirst().map { String(buffer: $0).lowercased() }
        inv.reply.verbatim(inv.node.infoText(sections: sections, session: inv.session))
    }
    handlers.register("lastsave") { (inv: inout Invocation) throws(RedisError) in
        inv.reply.integer(inv.node.lastSaveTime)
    }
    // No persistence yet: SAVE and BGSAVE succeed without writing anything (and LASTSAVE moves), so tools that
    // save before an operation proceed.
    handlers.register("save") { (inv: inout Invocation) throws(RedisError) in
        inv.node.lastSaveTime = inv.now / 1000
        inv.node.dirty = 0
        inv.reply.ok()
    }
    handlers.register("bgsave") { (inv: inout Invocation) throws(RedisError) in
        if inv.args.count > 2 || (inv.args.count == 2 && !inv.isKeyword(1, "SCHEDULE")) { throw .syntax }
        inv.node.lastSaveTime = inv.now / 1000
        inv.node.dirty = 0
        inv.reply.simple("Background saving started")
    }
    handlers.register("role") { (inv: inout Invocation) throws(RedisError) in
        inv.reply.array(3)
        inv.reply.bulk("master")
        inv.reply.integer(0)
        inv.reply.array(0)
    }
    handlers.register("wait") { (inv: inout Invocation) throws(RedisError) in
        _ = try inv.integer(1)
        guard let timeout = inv.args[2].parseInt64() else {
            throw RedisError("ERR timeout is not an integer or out of range")
        }
        guard timeout >= 0 else { throw RedisError("ERR timeout is negative") }
        // No replicas: nothing to wait for, the number of acknowledging replicas is 0.
        inv.reply.integer(0)
    }
    handlers.register("memory|usage") { (inv: inout Invocation) throws(RedisError) in
        var samples = 5
        if inv.args.count > 3 {
            guard inv.args.count == 5, inv.isKeyword(3, "SAMPLES") else { throw .syntax }
            let requested = try inv.integer(4)
            guard requested >= 0 else { throw .syntax }
            samples = Int(clamping: requested)
        }
        guard let object = inv.lookupWrite(inv.args[2]) else {
            inv.reply.null()
            return
        }
        inv.reply.integer(approximateMemoryUsage(key: inv.args[2], object, samples: samples))
    }
    handlers.register("memory|stats") { (inv: inout Invocation) throws(RedisError) in
        let memory = MemoryFigures.current()
        let keys = inv.node.databases.reduce(0) { $0 + $1.count }
        let fields: [(String, Int)] = [
            ("peak.allocated", memory.used), ("total.allocated", memory.used), ("startup.allocated", 0),
            ("replication.backlog", 0), ("clients.slaves", 0), ("clients.normal", 0), ("cluster.links", 0),
            ("aof.buffer", 0), ("lua.caches", 0), ("functions.caches", 0), ("overhead.total", 0),
            ("keys.count", keys), ("dataset.bytes", memory.used),
        ]
        inv.reply.map(fields.count)
        for (name, value) in fields {
            inv.reply.bulk(name)
            inv.reply.integer(value)
        }
    }
    handlers.register("memory|doctor") { (inv: inout Invocation) throws(RedisError) in
        inv.reply.verbatim(
            "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.")
    }
    handlers.register("memory|malloc-stats") { (inv: inout Invocation) throws(RedisError) in
        inv.reply.verbatim("Stats not supported for the current allocator")
    }
    handlers.register("memory|purge") { (inv: inout Invocation) throws(RedisError) in
        inv.reply.ok()
    }
    handlers.register("memory|help") { (inv: inout Invocation) throws(RedisError) in
        inv.reply.help([
            "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "DOCTOR",
            "    Return memory problems reports.",
            "MALLOC-STATS",
            "    Return internal statistics report from the memory allocator.",
            "PURGE",
            "    Attempt to purge dirty pages for reclamation by the allocator.",
            "STATS",
            "    Return information about the memory usage of the server.",
            "USAGE <key> [SAMPLES <count>]",
            "    Return memory in bytes used by <key> and its value. Nested values are",
            "    sampled up to <count> times (default: 5, 0 means sample all).",
        ])
    }
    // The latency monitor records nothing yet (latency-monitor-threshold is accepted but not acted on).
    handlers.register("latency|latest") { (inv: inout Invocation) throws(RedisError) in
        inv.reply.array(0)
    }
    handlers.register("latency|history") { (inv: inout Invocation) throws(RedisError) in
        inv.reply.array(0)
    }
    handlers.register("latency|reset") { (inv: inout Invocation) throws(RedisError) in
        inv.reply.integer(0)
    }
    handlers.register("latency|histogram") { (inv: inout Invocation) throws(RedisError) in
        inv.reply.map(0)
    }
    handlers.register("latency|graph") { (inv: inout Invocation) throws(RedisError) in
        throw RedisError("ERR No samples available for event '\(inv.string(2))'")
    }
    handlers.register("latency|doctor") { (inv: inout Invocation) throws(RedisError) in
        inv.reply.verbatim(
            "Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sleep better tonight.\n"
        )
    }
    handlers.register("latency|help") { (inv: inout Invocation) throws(RedisError) in
        inv.reply.help([
            "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "DOCTOR",
            "    Return a human readable latency analysis report.",
            "GRAPH <event>",
            "    Return an ASCII latency graph for the <event> class.",
            "HISTORY <event>",
            "    Return time-latency samples for the <event> class.",
            "LATEST",
            "    Return the latest latency samples for all events.",
            "RESET [<event> ...]",
            "    Reset latency data of one or more <event> classes.",
            "    (default: reset all data for all event classes)",
            "HISTOGRAM [COMMAND ...]",
            "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
            "    If no commands are specified then all histograms are replied.",
        ])
    }
}

/// MEMORY USAGE's estimate: the key, the value and per-element overheads, in the spirit of Redis's
/// `objectComputeSize` (whose exact numbers depend on jemalloc size classes); list elements are sampled.
func approximateMemoryUsage(key: ByteBuffer, _ object: RedisObject, samples: Int = 5) -> Int {
    let keyBytes = 16 + key.readableBytes + 24
    switch object {
    case .string(let value):
        return keyBytes + 16 + value.readableBytes
    case .list(let list):
        let sampled = list.items.prefix(samples == 0 ? Int.max : samples)
        let average = sampled.isEmpty ? 0 : sampled.reduce(0) { $0 + $1.readableBytes } / sampled.count
        return keyBytes + 48 + list.items.count * (average + 24)
    case .hash(let hash):
        return keyBytes + 64 + hash.count * 96
    case .set(let set):
        return keyBytes + 64 + set.count * 48
    case .zset(let zset):
        return keyBytes + 96 + zset.count * 112
    }
}
