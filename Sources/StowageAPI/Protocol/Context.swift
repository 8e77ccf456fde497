import Foundation
import Hummingbird
import StowageModel
import Synchronization

/// The request context: Hummingbird's core storage (its logger carries the request id on every line), the
/// caller that `SigV4Authentication` puts there, and the body it verified.
public struct StowageContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The client's address, for `aws:SourceIp` and the audit trail.
    public var sourceIp: String
    /// The authenticated caller; set for every route behind `SigV4Authentication`, nil before it.
    public var caller: Caller?
    /// The body exactly as signed, read once within the size limit by `SigV4Authentication`.
    public var signedBody: Data
    /// Shared with the middleware outside: Hummingbird passes the context inward by value.
    let exchange: Exchange

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        sourceIp = source.channel.remoteAddress?.ipAddress ?? ""
        caller = nil
        signedBody = Data()
        exchange = Exchange()
    }

    /// The id AWS clients read from `x-amzn-RequestId`; the same as `hb.request.id` in the logs.
    public var requestId: String { id }
}

/// What inner layers learn that the accounting middleware outside them needs once the response (or error) is
/// back: the action the request named and who made it. Written by the authentication middleware and the
/// handler step, read by `RequestAccounting`.
final class Exchange: Sendable {
    private let state = Mutex<(action: String?, caller: Caller?)>((nil, nil))

    var action: String? {
        get { state.withLock { $0.action } }
        set { state.withLock { $0.action = newValue } }
    }

    var caller: Caller? {
        get { state.withLock { $0.caller } }
        set { state.withLock { $0.caller = newValue } }
    }
}
