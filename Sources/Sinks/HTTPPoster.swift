import Config
import Foundation
import HubCore
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// POSTs one body to one URL over HTTP/1.1 (plain or TLS) and returns the response status.
///
/// Each POST has its own connection (`Connection: close`): a sink sends one event at a time and waits for the
/// answer, so there is nothing to pipeline, and a fresh connection never meets a keep-alive connection that the
/// service closed a moment earlier.
struct HTTPPoster: Sendable {
    let host: String
    let port: Int
    /// `Host` header value and request target.
    let authority: String
    let target: String
    let tls: NIOSSLContext?
    /// Fixed request headers (content type, the sink's own headers); their values are never logged.
    let headers: HTTPHeaders
    let timeout: Duration

    init(url: String, headers extra: [String: String], timeout: Duration, caFile: String?) throws {
        guard let parts = URLComponents(string: url), let scheme = parts.scheme?.lowercased(),
            let host = parts.host, !host.isEmpty
        else { throw SinkError("not a usable URL") }
        let secure = scheme == "https"
        port = parts.port ?? SinkSettings.defaultPort(scheme: scheme)
        // The URL parser keeps an IPv6 address's brackets; the resolver and TLS take it without them.
        self.host = try IPAddress.connectableHost(host, port: port)
        let shownHost = self.host.contains(":") ? "[\(self.host)]" : self.host
        authority = parts.port == nil ? shownHost : "\(shownHost):\(port)"
        var path = parts.percentEncodedPath.isEmpty ? "/" : parts.percentEncodedPath
        if let query = parts.percentEncodedQuery { path += "?" + query }
        target = path
        if secure {
            var configuration = TLSConfiguration.makeClientConfiguration()
            if let caFile {
                configuration.trustRoots = .file(caFile)
            }
            tls = try NIOSSLContext(configuration: configuration)
        } else {
            tls = nil
        }
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: authority)
        headers.add(name: "User-Agent", value: "StoreHub")
        headers.add(name: "Content-Type", value: "application/cloudevents+json; charset=utf-8")
        headers.add(name: "Connection", value: "close")
        if let user = parts.user {
            let credentials = Data("\(user):\(parts.password ?? "")".utf8).base64EncodedString()
            headers.add(name: "Authorization", value: "Basic \(credentials)")
        }
        for (name, value) in extra.sorted(by: { $0.key < $1.key }) {
            headers.replaceOrAdd(name: name, value: value)
        }
        self.headers = headers
        self.timeout = timeout
    }

    /// Sends `body`; returns the status code. Throws when there is no complete answer within the timeout.
    func post(_ body: [UInt8]) async throws -> Int {
        let host = self.host
        let tls = self.tls
        let serverName = IPAddress.isLiteral(host) ? nil : host
        let channel = try await withTimeout {
            try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.milliseconds(Int64(timeout.components.seconds * 1000) + 1))
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connect(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let tls {
                            try channel.pipeline.syncOperations.addHandler(
                                try NIOSSLClientHandler(context: tls, serverHostname: serverName))
                        }
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(
                            wrappingChannelSynchronously: channel)
                    }
                }
        }
        var requestHead = HTTPRequestHead(version: .http1_1, method: .POST, uri: target, headers: headers)
        requestHead.headers.add(name: "Content-Length", value: String(body.count))
        let head = requestHead
        do {
            return try await withTimeout {
                try await channel.executeThenClose { inbound, outbound in
                    // One write for the whole request. A service may answer and close as soon as it has read the
                    // body; a write that fails then is no failed delivery when its answer arrives, so the answer is
                    // read whatever the write said (else the event went out twice: once taken, once retried).
                    var writeError: (any Error)?
                    do {
                        try await outbound.write(contentsOf: [
                            .head(head), .body(.byteBuffer(ByteBuffer(bytes: body))), .end(nil),
                        ])
                    } catch {
                        writeError = error
                    }
                    var status: Int?
                    for try await part in inbound {
                        switch part {
                        case .head(let response) where response.status.code >= 200:
                            status = Int(response.status.code)
                        case .head, .body:
                            break
                        case .end:
                            if let status { return status }
                        }
                    }
                    if let writeError { throw writeError }
                    throw SinkError(
                        status.map { "the connection closed during the HTTP \($0) answer" }
                            ?? "the connection closed without an answer")
                }
            }
        } catch {
            // A timed-out exchange leaves the channel open; close it so nothing lingers.
            channel.channel.close(promise: nil)
            throw error
        }
    }

    /// Runs `body`, throwing `SinkError` when it takes longer than `timeout`.
    private func withTimeout<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let timeout = self.timeout
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else {
                throw SinkError("no answer within \(timeout.components.seconds) s")
            }
            return value
        }
    }
}

/// Why a delivery attempt failed, in words fit for the log and the status API (never a header value).
struct SinkError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
