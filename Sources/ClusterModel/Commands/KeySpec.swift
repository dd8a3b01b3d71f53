/// One Redis 7 key specification: where a run of key arguments begins and how far it goes.
///
/// Redis 7.0 publishes these in `COMMAND INFO` (tenth field); key extraction walks them in order, exactly as
/// Redis's `getKeysUsingKeySpecs` does.
public struct KeySpec: Sendable, Hashable {
    /// How the first key of the run is found.
    public enum BeginSearch: Sendable, Hashable {
        /// The first key is at this argv index (argv[0] is the command name).
        case index(Int)
        /// The first key follows `keyword`, searched case-insensitively from `startFrom` (forwards when
        /// positive; when negative, backwards from `argc + startFrom`).
        case keyword(String, startFrom: Int)
        /// The keys cannot be found from the arguments alone (SORT's BY/GET patterns).
        case unknown
    }

    /// How the keys after the first one are found.
    public enum FindKeys: Sendable, Hashable {
        /// Keys up to `lastKey` (relative to the first key when ≥ 0; from the end of argv when negative),
        /// every `keyStep` arguments; with `limit` > 0 and `lastKey` -1, only `1/limit` of the remaining
        /// arguments are keys (XREAD's `STREAMS k1 k2 id1 id2`).
        case range(lastKey: Int, keyStep: Int, limit: Int)
        /// The number of keys is the integer at `keyNumIndex` (relative to the begin-search position); keys start
        /// `firstKey` arguments after that position, every `keyStep` arguments.
        case keyNum(keyNumIndex: Int, firstKey: Int, keyStep: Int)
        /// Unknown; the command's key procedure decides.
        case unknown
    }

    /// Redis's note on this spec, if any (shown in `COMMAND INFO`).
    public var notes: String?
    public var flags: KeySpecFlags
    public var beginSearch: BeginSearch
    public var findKeys: FindKeys

    public init(notes: String? = nil, flags: KeySpecFlags, beginSearch: BeginSearch, findKeys: FindKeys) {
        self.notes = notes
        self.flags = flags
        self.beginSearch = beginSearch
        self.findKeys = findKeys
    }
}
