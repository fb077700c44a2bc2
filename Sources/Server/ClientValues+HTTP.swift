import HTTPTypes
import HubCore
import Hummingbird
import HummingbirdCore
import NIOCore

/// A refused query or path value is answered 400 with `{"error": {"message": ..., "parameter": ...}}`.
extension ClientValueError: HTTPResponseError {
    package var status: HTTPResponse.Status { .badRequest }

    package func response(from request: Request, context: some RequestContext) throws -> Response {
        let body = JSONValue.object([
            "error": .object(["message": .string(description), "parameter": .string(parameter)])
        ])
        return Response(
            status: status, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: body.jsonBytes)))
    }
}

extension ClientQuery {
    /// The request's query parameters, percent-decoded by Hummingbird.
    package init(_ request: Request) {
        self.init(request.uri)
    }

    /// The query of a request target such as `/api/v1/events?after=5`.
    package init(_ uri: URI) {
        self.init(uri.queryParameters.map { (name: $0.key, value: $0.value) })
    }

    /// A query string as it follows the `?` of a request target (`after=5&limit=10`).
    package init(queryString: String) {
        self.init(URI("/?" + queryString))
    }
}

extension PathValue {
    /// The path parameter `parameter` as a device id or sink name.
    static func name(_ parameter: String, of context: some RequestContext) throws(ClientValueError) -> DeviceID {
        try name(context.parameters.get(parameter), parameter: parameter)
    }

    /// The id of the path parameter `parameter`, `<32 hex digits><suffix>`.
    static func hexID(
        _ parameter: String, suffix: String, of context: some RequestContext
    ) throws(ClientValueError) -> String {
        try hexID(context.parameters.get(parameter), suffix: suffix, parameter: parameter)
    }
}
