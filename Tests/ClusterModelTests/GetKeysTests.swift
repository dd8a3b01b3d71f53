import ClusterModel
import NIOCore
import Testing

/// Key extraction without a server: the expected positions are what Redis 7.0.15's `COMMAND GETKEYS` returns
/// (the agreement suite checks the same forms, and many more, against a live server).
@Suite("Key extraction")
struct GetKeysTests {
    let table = CommandTable.redis70

    /// Positions from the table's GETKEYS for a space-separated invocation (`''` is an empty argument).
    func keys(_ line: String) throws -> [Int] {
        Array(try table.getKeys(argv(GetKeysCorpus.words(line))))
    }

    func failure(_ line: String) -> GetKeysError? {
        do {
            _ = try table.getKeys(argv(GetKeysCorpus.words(line)))
            return nil
        } catch {
            return error
        }
    }

    @Test("single key, ranges, last key -1 and step 2")
    func ranges() throws {
        #expect(try keys("get k") == [1])
        #expect(try keys("GET k") == [1])
        #expect(try keys("mget a b c") == [1, 2, 3])
        #expect(try keys("del a") == [1])
        #expect(try keys("mset a 1 b 2 c 3") == [1, 3, 5])
        #expect(try keys("mset a 1 b") == [1, 3])
        #expect(try keys("blpop a b c 0") == [1, 2, 3])
        #expect(try keys("bitop and d a b") == [2, 3, 4])
        #expect(try keys("lmove a b left right") == [1, 2])
        #expect(try keys("copy a b db 1") == [1, 2])
        #expect(try keys("set k v get") == [1])
        #expect(try keys("bitfield k get u8 0") == [1])
    }

    @Test("numkeys forms: EVAL, FCALL, Z*STORE, Z*, SINTERCARD, LMPOP, BLMPOP")
    func numKeys() throws {
        #expect(try keys("eval s 2 a b c") == [3, 4])
        #expect(try keys("eval s 0") == [])
        #expect(try keys("eval s abc") == [])
        #expect(try keys("fcall f 1 a") == [3])
        #expect(try keys("zunionstore d 2 a b") == [1, 3, 4])
        // A numkeys the key spec rejects goes to Redis's zunionInterDiffStoreGetKeys: destination last.
        #expect(try keys("zunionstore d 2abc a b") == [3, 4, 1])
        #expect(failure("zunionstore d 0 a") == .invalidArguments)
        #expect(failure("zunionstore d 3 a b") == .invalidArguments)
        #expect(try keys("zinter 2 a b withscores") == [2, 3])
        #expect(try keys("sintercard 2 a b limit 1") == [2, 3])
        #expect(try keys("lmpop 2 a b left") == [2, 3])
        #expect(try keys("blmpop 0 2 a b left") == [3, 4])
        #expect(try keys("bzmpop 0 1 a min") == [3])
    }

    @Test("keyword forms: STREAMS, KEYS, STORE / STOREDIST")
    func keywords() throws {
        #expect(try keys("xread streams a b 0 0") == [2, 3])
        #expect(try keys("xread count 1 block 0 streams a 0") == [6])
        // The key spec finds the first "streams" from argv[1], even where it is an option's value.
        #expect(try keys("xread count streams streams a 0") == [3])
        #expect(failure("xread count 1 streams") == .invalidArguments)
        #expect(try keys("xreadgroup group g c streams a 0") == [5])
        #expect(try keys("xreadgroup group streams c streams a 0") == [5])
        #expect(try keys("migrate h 1 k 0 5000") == [3])
        #expect(try keys("migrate h 1 '' 0 5000 copy keys a b") == [8, 9])
        #expect(try keys("migrate h 1 '' 0 5000 auth keys keys a") == [9])
        #expect(failure("migrate h 1 k 0 5000 keys a") == .invalidArguments)
        #expect(try keys("georadius k 0 0 1 km") == [1])
        #expect(try keys("georadius k 0 0 1 km store a storedist b") == [1, 7, 9])
        #expect(try keys("georadius k 0 0 1 km withdist store") == [1])
        #expect(try keys("georadiusbymember k m 1 km storedist b") == [1, 6])
    }

    @Test("SORT and SORT_RO: argv[1] and the last STORE")
    func sort() throws {
        #expect(try keys("sort k") == [1])
        #expect(try keys("sort k store d") == [1, 3])
        #expect(try keys("sort k by p get p store d") == [1, 7])
        #expect(try keys("sort k store a store b") == [1, 5])
        #expect(try keys("sort k limit store d x") == [1])
        #expect(try keys("sort k store") == [1])
        #expect(try keys("sort_ro k store d") == [1])
    }

    @Test("subcommands with keys")
    func subcommands() throws {
        #expect(try keys("object encoding k") == [2])
        #expect(try keys("OBJECT FREQ k") == [2])
        #expect(try keys("memory usage k samples 5") == [2])
        #expect(try keys("xinfo stream s full") == [2])
        #expect(try keys("xinfo consumers s g") == [2])
        #expect(try keys("xgroup create s g $ mkstream") == [2])
    }

    @Test("GETKEYS errors as Redis 7.0 words them")
    func errors() {
        #expect(failure("nosuch k") == .invalidCommand)
        #expect(failure("object nosuch k") == .invalidCommand)
        #expect(failure("ping x") == .noKeyArguments)
        #expect(failure("object help") == .noKeyArguments)
        #expect(failure("cluster setslot 1 stable") == .noKeyArguments)
        #expect(failure("spublish c m") == .noKeyArguments)
        #expect(failure("get a b") == .invalidNumberOfArguments)
        #expect(failure("object encoding") == .invalidNumberOfArguments)
        #expect(GetKeysError.invalidCommand.message == "ERR Invalid command specified")
        #expect(GetKeysError.noKeyArguments.message == "ERR The command has no key arguments")
        #expect(GetKeysError.invalidNumberOfArguments.message == "ERR Invalid number of arguments specified for command")
        #expect(GetKeysError.invalidArguments.message == "ERR Invalid arguments specified for command")
    }

    @Test("routing extraction: no keys instead of an error, and shard channels on request")
    func routingExtraction() throws {
        let zunionstore = try #require(table.command(named: "zunionstore"))
        #expect(zunionstore.keyPositions(in: argv("zunionstore", "d", "0", "a")).isEmpty)
        let spublish = try #require(table.command(named: "spublish"))
        #expect(spublish.keyPositions(in: argv("spublish", "c", "m")).isEmpty)
        #expect(Array(spublish.keyAndChannelPositions(in: argv("spublish", "c", "m"))) == [1])
        let ssubscribe = try #require(table.command(named: "ssubscribe"))
        #expect(Array(ssubscribe.keyAndChannelPositions(in: argv("ssubscribe", "a", "b", "c"))) == [1, 2, 3])
        let get = try #require(table.command(named: "get"))
        #expect(Array(get.keyAndChannelPositions(in: argv("get", "k"))) == [1])
        // Keys are positions in argv, so a subcommand's key is counted from the container's name.
        let usage = try #require(table.command(named: "memory|usage"))
        #expect(Array(usage.keyPositions(in: argv("memory", "usage", "k"))) == [2])
    }

    @Test("KeyPositions is a random-access collection of runs")
    func keyPositions() throws {
        let mset = try #require(table.command(named: "mset"))
        let positions = mset.keyPositions(in: argv("mset", "a", "1", "b", "2", "c", "3", "d", "4"))
        #expect(positions.count == 4)
        #expect(positions[2] == 5)
        #expect(Array(positions.reversed()) == [7, 5, 3, 1])
        #expect(positions.description == "[1, 3, 5, 7]")
        #expect(positions == mset.keyPositions(in: argv("MSET", "x", "1", "y", "2", "z", "3", "w", "4")))
        #expect(KeyPositions().isEmpty)
        let georadius = try #require(table.command(named: "georadius"))
        let three = georadius.keyPositions(in: argv("georadius k 0 0 1 km store a storedist b".split(separator: " ").map(String.init)))
        #expect(Array(three) == [1, 7, 9])
        #expect(three.firstIndex(of: 9) == 2)
    }
}
