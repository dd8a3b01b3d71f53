/// Dense numbers for the command table's commands and subcommands, so that per-command data (the node's handlers
/// and INFO commandstats, the proxy's per-command metrics) lives in arrays: finding a spec's number is one multiply
/// and a compare, with no String hashing. A class, so that reaching the shared table copies (and retains) no arrays.
package final class CommandNumbers: Sendable {
    /// Every command and subcommand of Redis 7.0's table.
    package static let redis70 = CommandNumbers(specs: CommandTable.redis70.allCommands)

    /// The specs, by number.
    package let specs: [CommandSpec]
    /// Open-addressing table of (spec address, number); address 0 marks an empty entry.
    private let addresses: [UInt]
    private let numbers: [Int32]
    private let shift: UInt

    package init(specs: [CommandSpec]) {
        self.specs = specs
        var bits: UInt = 2
        while (1 << bits) < specs.count * 4 { bits += 1 }
        let size = 1 << Int(bits)
        var addresses = [UInt](repeating: 0, count: size)
        var numbers = [Int32](repeating: -1, count: size)
        let shift = UInt(UInt.bitWidth) - bits
        for (number, spec) in specs.enumerated() {
            let address = UInt(bitPattern: ObjectIdentifier(spec))
            var entry = Self.hash(address, shift: shift)
            while addresses[entry] != 0 { entry = (entry + 1) & (size - 1) }
            addresses[entry] = address
            numbers[entry] = Int32(number)
        }
        self.addresses = addresses
        self.numbers = numbers
        self.shift = shift
    }

    package var count: Int { specs.count }

    /// The number of `spec`, or nil for a spec not in the table.
    @inline(__always)
    package func number(of spec: CommandSpec) -> Int? {
        let address = UInt(bitPattern: ObjectIdentifier(spec))
        let mask = addresses.count - 1
        var entry = Self.hash(address, shift: shift)
        while true {
            let candidate = addresses[entry]
            if candidate == address { return Int(numbers[entry]) }
            if candidate == 0 { return nil }
            entry = (entry + 1) & mask
        }
    }

    @inline(__always)
    private static func hash(_ address: UInt, shift: UInt) -> Int {
        Int(truncatingIfNeeded: (UInt64(address) &* 0x9E37_79B9_7F4A_7C15) >> UInt64(shift))
    }
}
