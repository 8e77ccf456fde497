import Logging
import NIOCertificateReloading
import NIOSSL

/// The server's HTTPS settings: a certificate and key re-read from their files on an interval, so a renewed
/// certificate (cert-manager, certbot, `stowage admin make-certificates`) is served without a restart, while
/// connections already open keep the one they shook hands with.
public struct ServerTLS: Sendable {
    /// Runs the re-reads: add it to the process's services.
    public let reloader: TimedCertificateReloader
    public let configuration: TLSConfiguration

    /// Loads the pair now (a bad path or a key that does not match the certificate fails here, before serving).
    public init(certificatePath: String, keyPath: String, refreshInterval: Duration = .seconds(5), logger: Logger) throws {
        let settings = TimedCertificateReloader.Configuration(
            refreshInterval: refreshInterval,
            certificateSource: .init(location: .file(path: certificatePath), format: .pem),
            privateKeySource: .init(location: .file(path: keyPath), format: .pem)
        ) {
            $0.logger = logger
            $0.onCertificateLoaded = { diff in
                guard let previous = diff.previousX509CertificateChain?.first,
                      let current = diff.currentX509CertificateChain.first, previous != current else { return }
                logger.info("TLS certificate reloaded", metadata: [
                    "serial": "\(current.serialNumber)", "notValidAfter": "\(current.notValidAfter)", "file": "\(certificatePath)",
                ])
            }
            $0.onCertificateLoadFailed = { failure in
                logger.warning("TLS certificate not reloaded; serving the previous one", metadata: ["error": "\(failure.error)"])
            }
        }
        do {
            reloader = try TimedCertificateReloader.makeReloaderValidatingSources(configuration: settings)
        } catch {
            throw LocalCertificatesError(message: "TLS certificate \(certificatePath) and key \(keyPath): \(error)")
        }
        configuration = try TLSConfiguration.makeServerConfiguration(certificateReloader: reloader)
    }
}

/// What a client of the server (the agent) or of PostgreSQL trusts: a CA bundle file when given, else the system's.
public enum ClientTLS {
    public static func configuration(caBundle: String?) throws -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let caBundle {
            do {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caBundle))
            } catch {
                throw LocalCertificatesError(message: "CA bundle \(caBundle) could not be read as PEM certificates: \(error)")
            }
        }
        return tls
    }
}
