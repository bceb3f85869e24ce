import CCurl
import Foundation
import NIOPosix

/// libcurl's process-wide initialisation, done once, thread-safely, before the first transfer.
private let curlReady: Bool = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK

/// Why a mail was not sent.
public struct SMTPError: Error, CustomStringConvertible, Sendable {
    /// libcurl's message for the failure (never the URL, which may carry credentials).
    public var description: String
    /// The SMTP server's last reply code, when it answered.
    public var replyCode: Int
}

/// Sends mail over SMTP (`smtp://`, or `smtps://` for implicit TLS) through libcurl. STARTTLS is used when the
/// server offers it, and required when the URL carries credentials (they never cross the network in the clear).
/// Each send is one blocking libcurl transfer on the threads its caller keeps for mail (a hung SMTP server holds one
/// of those), never on the Swift concurrency pool.
public struct SMTPMailer: Sendable {
    /// `smtp://[user:password@]host[:port]`: a secret, never logged.
    public var url: String
    /// The envelope and `From:` address.
    public var from: String
    /// The envelope and `To:` addresses.
    public var recipients: [String]
    public var timeout: Duration

    public init(url: String, from: String, recipients: [String], timeout: Duration = .seconds(15)) {
        self.url = url
        self.from = from
        self.recipients = recipients
        self.timeout = timeout
    }

    /// Whether the URL names a user (`smtp://user:password@host`).
    var hasCredentials: Bool {
        guard let schemeEnd = url.range(of: "://") else { return false }
        let authority = url[schemeEnd.upperBound...].prefix { $0 != "/" }
        return authority.contains("@")
    }

    /// Sends a plain-text UTF-8 message, the transfer running on `threads`.
    public func send(subject: String, body: String, date: Date = Date(), on threads: NIOThreadPool)
        async throws(SMTPError)
    {
        let message = Self.message(from: from, to: recipients, subject: subject, body: body, date: date)
        let outcome: Result<Void, SMTPError>
        do {
            outcome = try await threads.runIfActive { self.transfer(message) }
        } catch {
            throw SMTPError(description: "the thread pool is shutting down", replyCode: 0)
        }
        try outcome.get()
    }

    /// The RFC 5322 message: header fields stripped of line breaks, lines ending in CRLF.
    static func message(from: String, to recipients: [String], subject: String, body: String, date: Date) -> Data {
        func field(_ value: String) -> String {
            String(value.map { $0 == "\r" || $0 == "\n" ? " " : $0 }.prefix(900))
        }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        let domain = from.split(separator: "@").last.map(String.init) ?? "localhost"
        // A subject that is not ASCII is sent as an RFC 2047 encoded word.
        let encodedSubject =
            subject.allSatisfy(\.isASCII)
            ? field(subject) : "=?UTF-8?B?\(Data(field(subject).utf8).base64EncodedString())?="
        let head = [
            "Date: \(formatter.string(from: date))",
            "From: \(field(from))",
            "To: \(field(recipients.joined(separator: ", ")))",
            "Subject: \(encodedSubject)",
            "Message-ID: <\(UUID().uuidString.lowercased())@\(field(domain))>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: 8bit",
            "Auto-Submitted: auto-generated",
        ]
        let lines = body.replacingOccurrences(of: "\r\n", with: "\n").split(
            separator: "\n",
            omittingEmptySubsequences: false
        )
        return Data((head + [""] + lines.map(String.init)).joined(separator: "\r\n").utf8 + Array("\r\n".utf8))
    }

    /// The upload's state, reached from libcurl's read callback through its context pointer.
    private final class Upload {
        let bytes: [UInt8]
        var offset = 0
        init(_ data: Data) { bytes = Array(data) }
    }

    private func transfer(_ message: Data) -> Result<Void, SMTPError> {
        guard curlReady, let handle = curl_easy_init() else {
            return .failure(SMTPError(description: "libcurl could not start", replyCode: 0))
        }
        defer { curl_easy_cleanup(handle) }
        var recipientList: UnsafeMutablePointer<curl_slist>?
        for recipient in recipients { recipientList = curl_slist_append(recipientList, recipient) }
        defer { curl_slist_free_all(recipientList) }
        let upload = Upload(message)
        let context = Unmanaged.passRetained(upload)
        defer { context.release() }
        let milliseconds = Int(timeout / .milliseconds(1))
        var code = ccurl_setopt_string(handle, CURLOPT_URL, url)
        func set(_ result: CURLcode) { if code == CURLE_OK { code = result } }
        set(ccurl_setopt_string(handle, CURLOPT_MAIL_FROM, "<\(from)>"))
        set(ccurl_setopt_slist(handle, CURLOPT_MAIL_RCPT, recipientList))
        set(ccurl_setopt_long(handle, CURLOPT_UPLOAD, 1))
        set(ccurl_setopt_long(handle, CURLOPT_NOSIGNAL, 1))
        set(
            ccurl_setopt_long(handle, CURLOPT_USE_SSL, Int((hasCredentials ? CURLUSESSL_ALL : CURLUSESSL_TRY).rawValue))
        )
        set(ccurl_setopt_long(handle, CURLOPT_TIMEOUT_MS, milliseconds))
        set(ccurl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, min(milliseconds, 5_000)))
        set(ccurl_setopt_string(handle, CURLOPT_PROTOCOLS_STR, "smtp,smtps"))
        set(ccurl_setopt_pointer(handle, CURLOPT_READDATA, context.toOpaque()))
        set(
            ccurl_setopt_read_function(handle) { buffer, size, count, pointer in
                guard let buffer, let pointer else { return 0 }
                let upload = Unmanaged<Upload>.fromOpaque(pointer).takeUnretainedValue()
                let length = min(size * count, upload.bytes.count - upload.offset)
                upload.bytes.withUnsafeBufferPointer { source in
                    UnsafeMutableRawPointer(buffer).copyMemory(
                        from: source.baseAddress! + upload.offset,
                        byteCount: length
                    )
                }
                upload.offset += length
                return length
            }
        )
        guard code == CURLE_OK else {
            return .failure(
                SMTPError(
                    description: "libcurl refused an option: \(String(cString: curl_easy_strerror(code)))",
                    replyCode: 0
                )
            )
        }
        let result = curl_easy_perform(handle)
        var reply = 0
        _ = ccurl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &reply)
        guard result == CURLE_OK else {
            return .failure(SMTPError(description: String(cString: curl_easy_strerror(result)), replyCode: reply))
        }
        return .success(())
    }
}
