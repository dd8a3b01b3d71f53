/// Why a run stopped: each prints as one line a user can act on.
public enum BenchError: Error, CustomStringConvertible, Sendable {
    case unreachable(String, String)
    case authentication(String, String)
    case server(String, String)
    case connectionClosed(String)
    case protocolError(String, String)
    case timeout(String)
    case cluster(String)

    public var description: String {
        switch self {
        case .unreachable(let target, let reason): return "cannot connect to \(target): \(reason)"
        case .authentication(let target, let reply): return "authentication failed at \(target): \(reply)"
        case .server(let target, let reply): return "server error from \(target): \(reply)"
        case .connectionClosed(let target): return "connection to \(target) closed by the server"
        case .protocolError(let target, let reason): return "protocol error from \(target): \(reason)"
        case .timeout(let what): return what
        case .cluster(let reason): return reason
        }
    }
}
