/// One test as the engine runs it: its operations, the order clients cycle through them, and its budget.
struct TestPlan: Sendable {
    enum Check: Sendable {
        case none
        /// The value is the key's verify value (a write).
        case verifyWrite
        /// The reply must be the key's verify value (a read).
        case verifyRead
    }

    struct Operation: Sendable {
        var template: RequestTemplate
        var check: Check = .none
    }

    var name: String
    var operations: [Operation]
    /// Operation indexes; each client walks this list round and round (a ratio 1:3 is `[0, 1, 1, 1]`).
    var schedule: [Int]
    var keyPattern: KeyPattern
    var requests: Int?
    var duration: Double?
    var rate: Double?
    var warmup: Double
    /// A list `LRANGE_100` reads, filled before the test.
    var prefillList: Bool = false

    /// The plans of a configuration, in run order.
    static func plans(for configuration: BenchConfiguration) -> [TestPlan] {
        let tag = configuration.hashTag
        func op(_ arguments: [String], _ check: Check = .none) -> Operation {
            Operation(template: RequestTemplate(arguments, hashTag: tag), check: check)
        }
        if let phase = configuration.verify {
            let keys = configuration.keyspace
            func verifyPlan(_ name: String, _ operation: Operation) -> TestPlan {
                TestPlan(
                    name: name, operations: [operation], schedule: [0], keyPattern: .sequential, requests: keys,
                    duration: nil, rate: nil, warmup: 0)
            }
            var plans: [TestPlan] = []
            if phase != .read { plans.append(verifyPlan("VERIFY_WRITE", op(["SET", "key:__key__", "__data__"], .verifyWrite))) }
            if phase != .write { plans.append(verifyPlan("VERIFY_READ", op(["GET", "key:__key__"], .verifyRead))) }
            return plans
        }
        func plan(_ name: String, _ operations: [Operation], _ schedule: [Int]) -> TestPlan {
            TestPlan(
                name: name, operations: operations, schedule: schedule, keyPattern: configuration.keyPattern,
                requests: configuration.duration == nil ? configuration.requests : nil,
                duration: configuration.duration, rate: configuration.rate, warmup: configuration.warmup)
        }
        switch configuration.workload {
        case .tests(let tests):
            return tests.map { test in
                var p = plan(test.name, [op(test.arguments)], [0])
                p.prefillList = test == .lrange_100
                return p
            }
        case .mixed(let sets, let gets):
            var schedule: [Int] = []
            // Interleave evenly: at each step take the operation furthest behind its share.
            var done = (0, 0)
            for _ in 0..<(sets + gets) {
                let setLag = Double(sets) * Double(done.0 + done.1 + 1) / Double(sets + gets) - Double(done.0)
                if sets > 0 && (gets == 0 || setLag >= 0.5) {
                    schedule.append(0)
                    done.0 += 1
                } else {
                    schedule.append(1)
                    done.1 += 1
                }
            }
            return [
                plan(
                    "SET:GET \(sets):\(gets)", [op(BuiltinTest.set.arguments), op(BuiltinTest.get.arguments)], schedule)
            ]
        case .custom(let arguments):
            return [plan(arguments.joined(separator: " "), [op(arguments)], [0])]
        }
    }
}
