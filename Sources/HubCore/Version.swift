/// StoreHub's release version, reported by `storehub --version`, the bus `hello` and /healthz.
package enum StoreHubVersion {
    package static let current = "0.1.0"
}
