import NIOCore

/// Redis 7.0's special-case key functions (`getkeys_proc`), used when a command's key specs are incomplete,
/// have variable flags, or fail on the given arguments.
package enum KeyProcedure: Sendable, Hashable {
    case none
    /// `COMMAND [dest] numkeys key ...` (Redis's `genericGetKeys`): the count is read C-`atoi` style at
    /// `countIndex`; keys start at `firstKeyIndex`; `storeKeyIndex` (0 when absent) is listed last.
    case numKeys(storeKeyIndex: Int, countIndex: Int, firstKeyIndex: Int)
    /// SORT: argv[1], plus the key after the last `STORE` (skipping `LIMIT o c`, `GET p`, `BY p`).
    case sort
    /// SORT_RO: argv[1].
    case sortReadOnly
    /// MIGRATE: argv[3], or the keys after `KEYS` when argv[3] is empty.
    case migrate
    /// GEORADIUS / GEORADIUSBYMEMBER: argv[1], plus the key after the last `STORE` or `STOREDIST`.
    case geoRadius
    /// XREAD / XREADGROUP: the first half of the arguments after `STREAMS`.
    case xread
    /// SET and BITFIELD: argv[1] (their procedures only compute the key's flags).
    case firstArgument
}

extension CommandSpec {
    /// The argv indices of this command's keys, exactly as Redis 7.0 finds them (`getKeysFromCommandWithSpecs`):
    /// the key specs when they are complete and their flags fixed, else Redis's key procedure for the command.
    ///
    /// `argv[0]` is the command name (for a subcommand, `argv[1]` is the subcommand name). Returns no positions
    /// where Redis finds none, including malformed calls (a bad `numkeys`): Redis Cluster then sends the call
    /// to any node, which replies with the command's own error. Does not check the arity; no allocation.
    public func keyPositions(in argv: [ByteBuffer]) -> KeyPositions {
        if let run = singleRangeKeys {
            // The general walk below, specialised to one `index` + `range` spec with no limit.
            let argc = argv.count
            let last = run.lastKey >= 0 ? run.first + run.lastKey : argc + run.lastKey
            var positions = KeyPositions()
            if last < argc && last >= run.first && run.first < argc && run.first >= 0 && run.step > 0 {
                positions.appendRun(first: run.first, last: last, step: run.step)
                return positions
            }
            return keyProcedure.keyPositions(argv)
        }
        if hasKeySpecKeys && !hasVariableFlagSpecs, let positions = keyPositionsUsingKeySpecs(argv, includeNotKeys: false) {
            return positions
        }
        return keyProcedure.keyPositions(argv)
    }

    /// The argv indices matched by the key specs including `not_key` ones: the shard channels of SPUBLISH,
    /// SSUBSCRIBE and SUNSUBSCRIBE, which Redis Cluster routes by slot like keys. Empty when a spec fails.
    public func keyAndChannelPositions(in argv: [ByteBuffer]) -> KeyPositions {
        keyPositionsUsingKeySpecs(argv, includeNotKeys: true) ?? KeyPositions()
    }

    /// Redis's `getKeysUsingKeySpecs`: `nil` where Redis returns -1 (a spec cannot be applied, or is incomplete).
    func keyPositionsUsingKeySpecs(_ argv: [ByteBuffer], includeNotKeys: Bool) -> KeyPositions? {
        let argc = argv.count
        var positions = KeyPositions()
        for spec in keySpecs {
            if spec.flags.contains(.notKey) && !includeNotKeys {
                continue
            }
            var first = 0
            switch spec.beginSearch {
            case .index(let index):
                first = index
            case .keyword(let keyword, let startFrom):
                let start = startFrom > 0 ? startFrom : argc + startFrom
                let end = startFrom > 0 ? argc - 1 : 1
                var index = start
                while index != end {
                    if index >= argc || index < 1 {
                        break
                    }
                    if argv[index].equalsCString(caseInsensitive: keyword) {
                        first = index + 1
                        break
                    }
                    index = start <= end ? index + 1 : index - 1
                }
                if first == 0 {
                    continue
                }
            case .unknown:
                return nil
            }

            let last: Int
            let step: Int
            switch spec.findKeys {
            case .range(let lastKey, let keyStep, let limit):
                step = keyStep
                if lastKey >= 0 {
                    last = first + lastKey
                } else if limit == 0 {
                    last = argc + lastKey
                } else {
                    last = first + ((argc - first) / limit + lastKey)
                }
            case .keyNum(let keyNumIndex, let firstKey, let keyStep):
                step = keyStep
                let countIndex = first + keyNumIndex
                guard keyNumIndex < argc, countIndex >= 0, countIndex < argc,
                    let count = argv[countIndex].redisStringToInt64(), count >= 0
                else {
                    return nil
                }
                first += firstKey
                // Redis narrows the count to a C int and adds in int arithmetic.
                last = Int(Int32(truncatingIfNeeded: first) &+ Int32(truncatingIfNeeded: count) &- 1)
            case .unknown:
                return nil
            }

            if last >= argc || last < first || first >= argc || first < 0 || step <= 0 {
                return nil
            }
            positions.appendRun(first: first, last: last, step: step)
            if spec.flags.contains(.incomplete) {
                return nil
            }
        }
        return positions
    }
}

extension KeyProcedure {
    /// The positions Redis 7.0's key procedure returns for `argv`.
    func keyPositions(_ argv: [ByteBuffer]) -> KeyPositions {
        let argc = argv.count
        var positions = KeyPositions()
        switch self {
        case .none:
            break

        case .numKeys(let storeKeyIndex, let countIndex, let firstKeyIndex):
            guard countIndex < argc else { break }
            let count = argv[countIndex].cAtoi()
            if count < 1 || count > argc - firstKeyIndex {
                break
            }
            positions.appendRun(first: firstKeyIndex, last: firstKeyIndex + count - 1, step: 1)
            if storeKeyIndex != 0 {
                positions.append(position: storeKeyIndex)
            }

        case .sort:
            positions.append(position: 1)
            var storeKey = 0
            var index = 2
            while index < argc {
                let argument = argv[index]
                if argument.equalsCString(caseInsensitive: "limit") {
                    index += 2
                } else if argument.equalsCString(caseInsensitive: "store") && index + 1 < argc {
                    // The last STORE wins, as in SORT itself; its key is not skipped.
                    storeKey = index + 1
                } else if argument.equalsCString(caseInsensitive: "get")
                    || argument.equalsCString(caseInsensitive: "by")
                {
                    index += 1
                }
                index += 1
            }
            if storeKey != 0 {
                positions.append(position: storeKey)
            }

        case .sortReadOnly, .firstArgument:
            positions.append(position: 1)

        case .migrate:
            var first = 3
            var count = 1
            if argc > 6 {
                var index = 6
                while index < argc {
                    let argument = argv[index]
                    if argument.equalsCString(caseInsensitive: "keys") {
                        if argv[3].readableBytes > 0 {
                            // A key and KEYS together is a syntax error that MIGRATE itself reports.
                            count = 0
                        } else {
                            first = index + 1
                            count = argc - first
                        }
                        break
                    }
                    if argument.equalsCString(caseInsensitive: "auth") {
                        index += 1
                    } else if argument.equalsCString(caseInsensitive: "auth2") {
                        index += 2
                    }
                    index += 1
                }
            }
            if count > 0 && first < argc {
                positions.appendRun(first: first, last: first + count - 1, step: 1)
            }

        case .geoRadius:
            positions.append(position: 1)
            var storeKey = -1
            var index = 5
            while index < argc {
                let argument = argv[index]
                if (argument.equalsCString(caseInsensitive: "store")
                    || argument.equalsCString(caseInsensitive: "storedist")) && index + 1 < argc
                {
                    storeKey = index + 1
                    index += 1
                }
                index += 1
            }
            if storeKey > 0 {
                positions.append(position: storeKey)
            }

        case .xread:
            var streamsIndex = -1
            var index = 1
            while index < argc {
                let argument = argv[index]
                if argument.equalsCString(caseInsensitive: "block") || argument.equalsCString(caseInsensitive: "count") {
                    index += 1
                } else if argument.equalsCString(caseInsensitive: "group") {
                    index += 2
                } else if argument.equalsCString(caseInsensitive: "noack") {
                    // No argument.
                } else if argument.equalsCString(caseInsensitive: "streams") {
                    streamsIndex = index
                    break
                } else {
                    break
                }
                index += 1
            }
            guard streamsIndex >= 0 else { break }
            let remaining = argc - streamsIndex - 1
            if remaining == 0 || remaining % 2 != 0 {
                break
            }
            positions.appendRun(first: streamsIndex + 1, last: streamsIndex + remaining / 2, step: 1)
        }
        return positions
    }
}

extension ByteBuffer {
    /// C `strcasecmp(arg, keyword) == 0` on the readable bytes: the argument ends at its first NUL byte, as a
    /// C string does; `keyword` is ASCII.
    func equalsCString(caseInsensitive keyword: StaticString) -> Bool {
        keyword.withUTF8Buffer { keywordBytes in
            self.withUnsafeReadableBytes { bytes in
                Self.cStringEquals(bytes, UnsafeRawBufferPointer(keywordBytes))
            }
        }
    }

    /// C `strcasecmp(arg, keyword) == 0` on the readable bytes, for a keyword held in a String.
    func equalsCString(caseInsensitive keyword: String) -> Bool {
        var keyword = keyword
        return keyword.withUTF8 { keywordBytes in
            self.withUnsafeReadableBytes { bytes in
                Self.cStringEquals(bytes, UnsafeRawBufferPointer(keywordBytes))
            }
        }
    }

    static func cStringEquals(_ bytes: UnsafeRawBufferPointer, _ keyword: UnsafeRawBufferPointer) -> Bool {
        var index = 0
        while index < keyword.count {
            guard index < bytes.count else { return false }
            let byte = bytes[index]
            if byte == 0 || asciiLowercase(byte) != asciiLowercase(keyword[index]) {
                return false
            }
            index += 1
        }
        return index == bytes.count || bytes[index] == 0
    }

    @inline(__always)
    static func asciiLowercase(_ byte: UInt8) -> UInt8 {
        byte &- UInt8(ascii: "A") < 26 ? byte | 0x20 : byte
    }

    /// Redis's strict `string2ll`: an optional `-`, then digits without leading zeros (or just `0`), fitting a
    /// 64-bit signed integer, at most 20 bytes; anything else is `nil`.
    func redisStringToInt64() -> Int64? {
        withUnsafeReadableBytes { bytes -> Int64? in
            let count = bytes.count
            if count == 0 || count >= 21 {
                return nil
            }
            if count == 1 && bytes[0] == UInt8(ascii: "0") {
                return 0
            }
            var index = 0
            var negative = false
            if bytes[0] == UInt8(ascii: "-") {
                negative = true
                index = 1
                if index == count {
                    return nil
                }
            }
            guard bytes[index] >= UInt8(ascii: "1") && bytes[index] <= UInt8(ascii: "9") else { return nil }
            var value = UInt64(bytes[index] - UInt8(ascii: "0"))
            index += 1
            while index < count {
                let byte = bytes[index]
                guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
                let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
                let (sum, overflow2) = times10.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
                if overflow1 || overflow2 {
                    return nil
                }
                value = sum
                index += 1
            }
            if negative {
                if value > UInt64(Int64.max) + 1 {
                    return nil
                }
                return value == UInt64(Int64.max) + 1 ? Int64.min : -Int64(value)
            }
            return value > UInt64(Int64.max) ? nil : Int64(value)
        }
    }

    /// C `atoi` (glibc: `(int)strtol(s, NULL, 10)`): skips leading white space, reads an optional sign and
    /// digits up to the first other byte (or NUL), saturates at the 64-bit range, then truncates to 32 bits.
    func cAtoi() -> Int {
        withUnsafeReadableBytes { bytes -> Int in
            var index = 0
            while index < bytes.count {
                let byte = bytes[index]
                // isspace in the C locale: space, \t, \n, \v, \f, \r.
                if byte == 0x20 || (byte >= 0x09 && byte <= 0x0D) {
                    index += 1
                } else {
                    break
                }
            }
            var negative = false
            if index < bytes.count && (bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+")) {
                negative = bytes[index] == UInt8(ascii: "-")
                index += 1
            }
            var magnitude: UInt64 = 0
            var saturated = false
            while index < bytes.count {
                let byte = bytes[index]
                guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { break }
                if !saturated {
                    let (times10, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
                    let (sum, overflow2) = times10.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
                    if overflow1 || overflow2 || sum > UInt64(Int64.max) + 1 {
                        saturated = true
                    } else {
                        magnitude = sum
                    }
                }
                index += 1
            }
            let value: Int64
            if negative {
                value = saturated || magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
            } else {
                value = saturated || magnitude > UInt64(Int64.max) ? Int64.max : Int64(magnitude)
            }
            return Int(Int32(truncatingIfNeeded: value))
        }
    }
}
