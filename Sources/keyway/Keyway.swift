import ArgumentParser
import ClusterModel

/// The `keyway` command line: one executable, several roles.
@main
struct Keyway: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "keyway",
        abstract: "A Redis-protocol cluster proxy and shard node.",
        discussion: """
            Roles: `keyway up` (a local cluster and its proxy in one command), `keyway proxy`, `keyway node`, \
            `keyway bench` and `keyway slot`; `sentinel` and `cluster` are coming.
            """,
        version: version,
        subcommands: [UpCommand.self, ProxyCommand.self, NodeCommand.self, BenchCommand.self, SlotCommand.self]
    )
}

/// `keyway slot KEY...`: prints each key's hash slot and hash tag, like `CLUSTER KEYSLOT`.
struct SlotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "slot",
        abstract: "Print the hash slot (CRC16 mod 16384, honouring {hash tags}) of each key."
    )

    @Argument(help: "The keys. Each is taken as its UTF-8 bytes.")
    var keys: [String]

    @Flag(help: "Print only the slot numbers, one per line.")
    var quiet = false

    func validate() throws {
        if keys.isEmpty { throw ValidationError("Give at least one key.") }
    }

    func run() throws {
        for key in keys {
            let slot = HashSlot(key: key)
            if quiet {
                print(slot.rawValue)
                continue
            }
            if let tag = HashSlot.hashTag(of: Array(key.utf8)) {
                print("\(key)\t\(slot.rawValue)\ttag={\(String(decoding: tag, as: UTF8.self))}")
            } else {
                print("\(key)\t\(slot.rawValue)")
            }
        }
    }
}
