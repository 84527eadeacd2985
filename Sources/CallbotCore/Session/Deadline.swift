import Synchronization

/// The first of several racers to finish claims the result; the others find it taken.
final class FirstOf<Value: Sendable>: Sendable {
    private let state = Mutex<(claimed: Bool, continuation: CheckedContinuation<Value, Never>?)>((false, nil))

    init(_ continuation: CheckedContinuation<Value, Never>) {
        state.withLock { $0.continuation = continuation }
    }

    /// Resumes the waiter with `value` if nobody did; whether this call did.
    @discardableResult
    func finish(_ value: Value) -> Bool {
        let continuation = state.withLock { state -> CheckedContinuation<Value, Never>? in
            guard !state.claimed else { return nil }
            state.claimed = true
            defer { state.continuation = nil }
            return state.continuation
        }
        continuation?.resume(returning: value)
        return continuation != nil
    }

    var isFinished: Bool { state.withLock { $0.claimed } }
}

/// A flag raised from any task.
final class Flag: Sendable {
    private let raised = Mutex(false)

    func raise() { raised.withLock { $0 = true } }
    var isRaised: Bool { raised.withLock { $0 } }
}
