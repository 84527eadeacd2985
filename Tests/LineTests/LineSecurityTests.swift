import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension Line {
    /// What the probe of the line found: each case failed before its fix.
    @Suite struct LineSecurityTests {
        /// A raw peer in Python: connections from another loopback address, a trickling sender.
        @Test func untrustedTCPIsClosedAtAcceptAndATricklingSenderIsCutOff() throws {
            let daemon = try Daemon(sipPort: 25111, rtpPorts: "28000-28099") { callbot, _ in
                callbot = callbot.replacingOccurrences(
                    of: "trusted_peers: [\"127.0.0.0/8\", \"::1\"]", with: "trusted_peers: [\"127.0.0.1\"]"
                )
                .replacingOccurrences(
                    of: "tcp_message_timeout_seconds: 10", with: "tcp_message_timeout_seconds: 1")
            }
            let script = #"""
                import socket, sys, time
                port = int(sys.argv[1])
                def options(branch):
                    return (f"OPTIONS sip:bot@127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bK-{branch}\r\n"
                            f"From: <sip:t@127.0.0.1>;tag=t\r\nTo: <sip:bot@127.0.0.1>\r\nCall-ID: {branch}@t\r\n"
                            f"CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n").encode()
                def closed(s, wait):
                    s.settimeout(wait)
                    try: return s.recv(100) == b""
                    except ConnectionResetError: return True
                    except socket.timeout: return False
                # 300 connections from an address that is not trusted, all kept open on our side.
                untrusted = []
                for i in range(300):
                    s = socket.socket(); s.bind(("127.0.0.2", 0)); s.connect(("127.0.0.1", port)); untrusted.append(s)
                print("untrusted closed", sum(closed(s, 1.0) for s in untrusted))
                # A trusted peer is served all the same.
                t = socket.create_connection(("127.0.0.1", port)); t.sendall(options("trusted"))
                t.settimeout(2); print("trusted", t.recv(200).split(b"\r\n")[0].decode())
                # A sender trickling a byte every 300 ms is cut off once its message is 1 s late.
                slow = socket.create_connection(("127.0.0.1", port)); message = options("slow"); start = time.time()
                cut = None
                for byte in message[:40]:
                    try: slow.sendall(bytes([byte]))
                    except OSError: cut = time.time() - start; break
                    if closed(slow, 0.3): cut = time.time() - start; break
                print("slow cut", cut is not None and cut < 3.0, cut)
                # A burst of 60 connections from one trusted address: about 20 a second are taken.
                time.sleep(1.5)
                burst = [socket.create_connection(("127.0.0.1", port)) for i in range(60)]
                refused = sum(closed(s, 0.05) for s in burst)
                print("burst refused", refused, refused >= 30 and refused <= 45)
                """#
            let run = try runProcess("/usr/bin/python3", ["-c", script, "25111"])
            let lines = run.stdout.split(separator: "\n").map(String.init)
            #expect(lines.contains("untrusted closed 300"), "\(run)")
            #expect(lines.contains("trusted SIP/2.0 200 OK"), "\(run)")
            #expect(lines.contains { $0.hasPrefix("slow cut True") }, "\(run)")
            #expect(lines.contains { $0.hasPrefix("burst refused") && $0.hasSuffix("True") }, "\(run)")
            #expect(daemon.stop() == 0)
        }

        @Test func aLargeInviteOverUDPIsServed() throws {
            let daemon = try Daemon(sipPort: 25112, rtpPorts: "28100-28199")
            // An INVITE of about 2,300 bytes: an SDP with ICE candidates, as WebRTC gateways send.
            let script = #"""
                import socket, sys
                port = int(sys.argv[1])
                candidates = "".join(f"a=candidate:{i} 1 udp 2122260223 192.0.2.{i} {50000 + i} typ host generation 0\r\n" for i in range(32))
                sdp = ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
                       "m=audio 28190 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n" + candidates)
                head = (f"INVITE sip:bot@127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:25113;branch=z9hG4bK-big\r\n"
                        "From: <sip:t@127.0.0.1>;tag=t\r\nTo: <sip:bot@127.0.0.1>\r\nCall-ID: big@t\r\nCSeq: 1 INVITE\r\n"
                        "Contact: <sip:t@127.0.0.1:25113>\r\nContent-Type: application/sdp\r\n")
                invite = (head + f"Content-Length: {len(sdp)}\r\n\r\n" + sdp).encode()
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 25113)); s.settimeout(2)
                s.sendto(invite, ("127.0.0.1", port))
                print("size", len(invite) > 2200)
                first = s.recv(65535).split(b"\r\n")[0].decode(); print("answer", first)
                cancel = (f"CANCEL sip:bot@127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:25113;branch=z9hG4bK-big\r\n"
                          "From: <sip:t@127.0.0.1>;tag=t\r\nTo: <sip:bot@127.0.0.1>\r\nCall-ID: big@t\r\nCSeq: 1 CANCEL\r\n"
                          "Content-Length: 0\r\n\r\n").encode()
                s.sendto(cancel, ("127.0.0.1", port))
                seen = set()
                try:
                    while len(seen) < 3:
                        seen.add(s.recv(65535).split(b"\r\n")[0].decode())
                except socket.timeout: pass
                print("cancelled", "SIP/2.0 487 Request Terminated" in seen)
                """#
            let run = try runProcess("/usr/bin/python3", ["-c", script, "25112"])
            let lines = run.stdout.split(separator: "\n").map(String.init)
            #expect(lines.contains("size True") && lines.contains("answer SIP/2.0 100 Trying"), "\(run)")
            #expect(lines.contains("cancelled True"), "\(run)")
            #expect(daemon.stop() == 0)
        }

        @Test func aCallerWhoStopsSendingIsEndedAndRecordedAsLost() throws {
            let daemon = try Daemon(sipPort: 25114, rtpPorts: "28200-28299") { callbot, _ in
                callbot = callbot.replacingOccurrences(
                    of: "media_timeout_seconds: 60", with: "media_timeout_seconds: 2")
            }
            let sipp = try daemon.sipp("silent_caller.xml", port: 25115, mediaPort: 28290)
            #expect(sipp.status == 0, "the bot hangs up: \(sipp.output)")
            #expect(daemon.stop() == 0)
            let call = try daemon.lastCall()
            let events = try #require(call["events"] as? [[String: Any]])
            #expect(events.contains { $0["type"] as? String == "call.ended" && $0["line_lost"] as? Bool == true })
            #expect(daemon.log.contains("reason=media_timeout"))
        }

        /// `kill -9` during 20 calls used to leave none of them in the call log.
        @Test func callsCutByACrashAreInTheLogAndClosedAtTheNextStart() throws {
            let scratch = NSTemporaryDirectory() + "callbot-crash-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: scratch) }
            let database = scratch + "/callbot.sqlite"
            let first = try Daemon(sipPort: 25118, rtpPorts: "28400-28499", database: database)
            // Three callers in the middle of their calls (survey.xml waits 14 s before its last key).
            let sipp = Process()
            sipp.executableURL = URL(fileURLWithPath: "/usr/bin/sipp")
            sipp.arguments = [
                "-t", "u1", "-sf", repositoryRoot + "/Tests/Fixtures/sipp/survey.xml", "-i", "127.0.0.1", "-p", "25119",
                "-mi", "127.0.0.1", "-mp", "28490", "-set", "rtp_port", "28491", "-m", "3", "-r", "10", "-l", "3",
                "-nostdin", "127.0.0.1:25118",
            ]
            sipp.standardOutput = FileHandle.nullDevice
            sipp.standardError = FileHandle.nullDevice
            try sipp.run()
            sleep(4)
            kill(first.process.processIdentifier, SIGKILL)
            first.process.waitUntilExit()
            sipp.terminate()
            sipp.waitUntilExit()
            let second = try Daemon(sipPort: 25118, rtpPorts: "28400-28499", database: database)
            // Every call answered before the crash is in the log, closed as interrupted.
            let list = try runProcess(
                binary("callbotctl"),
                ["calls", "list", "--json", "--db", database, "--config", second.folder + "/config"])
            let calls = try #require(try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]])
            #expect(calls.count >= 2 && calls.allSatisfy { $0["outcome"] as? String == "interrupted" }, "\(calls)")
            #expect(
                second.log.contains("count=\(calls.count) [callbotd] calls left open by an interrupted run"),
                "\(second.log)")
            let call = try second.lastCall()
            #expect(call["outcome"] as? String == "interrupted")
            let events = try #require(call["events"] as? [[String: Any]])
            #expect(events.contains { $0["type"] as? String == "say" }, "the call's first moments were kept")
            #expect(second.stop() == 0)
        }

        /// The probe saw idle CPU go from 1.5 % to 51 % of a core after 4,000 INVITE/CANCEL pairs.
        @Test func tenThousandCancelledCallsLeaveTheLineIdle() throws {
            let daemon = try Daemon(sipPort: 25116, rtpPorts: "28300-28399") { callbot, _ in
                // Slow to answer, so that every CANCEL arrives while it rings.
                callbot = callbot.replacingOccurrences(of: "answer_delay_ms: 300", with: "answer_delay_ms: 10000")
            }
            let pid = daemon.process.processIdentifier
            let before = try ProcessSample(pid: pid)
            let sipp = try daemon.sipp(
                "cancel.xml", port: 25117, mediaPort: 28390, extra: ["-m", "10000", "-r", "400", "-l", "2000"],
                timeout: 120)
            let successful = sipp.output.split(separator: "\n").first { $0.contains("Successful call") }
            #expect(sipp.status == 0 || sipp.status == 1, "\(sipp.output.suffix(2000))")
            // Idle again: CPU over three seconds, and memory, once the flood is over.
            sleep(1)
            let start = try ProcessSample(pid: pid)
            sleep(3)
            let end = try ProcessSample(pid: pid)
            let idleShare = Double(end.cpuTicks - start.cpuTicks) / (3 * Double(sysconf(Int32(_SC_CLK_TCK))))
            #expect(idleShare < 0.10, "idle CPU \(idleShare) of a core after the flood; \(successful ?? "")")
            #expect(
                end.residentKiB - before.residentKiB < 96 * 1024,
                "memory grew by \(end.residentKiB - before.residentKiB) KiB")
            let metrics = try runProcess(
                "/usr/bin/curl",
                [
                    "-s", "-H", "Authorization: Bearer \(daemon.adminToken)",
                    "http://127.0.0.1:\(daemon.adminPort ?? 0)/metrics",
                ])
            #expect(metrics.stdout.contains("callbot_sip_calls_held 0"), "\(metrics.stdout.prefix(3000))")
            #expect(daemon.stop() == 0)
        }
    }
}

/// CPU time and resident memory of a process, from /proc.
struct ProcessSample {
    let cpuTicks: Int
    let residentKiB: Int

    init(pid: Int32) throws {
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        // Fields after the command name (which may hold spaces) start at state, field 3.
        let fields = stat[stat.index(after: stat.lastIndex(of: ")")!)...].split(separator: " ")
        cpuTicks = Int(fields[11])! + Int(fields[12])!  // utime, stime
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        residentKiB = Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
    }
}

extension Line {
    /// SIP over TLS and SRTP with a real softphone: baresip dials the bot's TLS port and will
    /// only talk SRTP (`srtp-mand`, SDES keys in the TLS-protected SDP).
    @Suite struct TLSTests {
        @Test func aSoftphoneCallsOverTLSWithSRTP() throws {
            let keys = NSTemporaryDirectory() + "callbot-tls-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: keys, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: keys) }
            let certificate = try runProcess(
                "/usr/bin/openssl",
                [
                    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", keys + "/key.pem",
                    "-out", keys + "/cert.pem",
                ])
            #expect(certificate.status == 0, "\(certificate.stderr)")
            let daemon = try Daemon(sipPort: 25131, rtpPorts: "28700-28779") { callbot, _ in
                callbot = callbot.replacingOccurrences(
                    of: "  transfer_timeout_seconds: 30\n",
                    with: "  transfer_timeout_seconds: 30\n  tls: {port: 25132, certificate: \"\(keys)/cert.pem\", "
                        + "private_key: \"\(keys)/key.pem\"}\n")
            }
            #expect(daemon.log.contains("sip.transports=udp tcp tls"), "\(daemon.log)")
            let phone = try Softphone(
                folder: daemon.folder + "/baresip", listen: 25190, rtpPorts: "28780-28789", modules: ["srtp.so"],
                accountParameters: ";mediaenc=srtp-mand")
            let trace = try phone.dial("sip:bot@127.0.0.1:25132;transport=tls", seconds: 7, trace: true)
            #expect(trace.contains("SIP/2.0/TLS"), "the call's signalling went over TLS: \(trace.suffix(3000))")
            #expect(trace.contains("SIP/2.0 200 OK"), "answered: \(trace.suffix(3000))")
            #expect(trace.contains("m=audio") && trace.contains("RTP/SAVP") && trace.contains("a=crypto:"))
            // What the softphone heard, decrypted by it: the greeting, not silence nor noise.
            let heard = try #require(try phone.heard(), "baresip recorded nothing: \(trace.suffix(2000))")
            let speech = soundsLikeSpeech(heard.samples)
            #expect(speech.isSpeech, "\(speech.loud) loud frames of \(speech.frames)")
            #expect(daemon.stop() == 0)
            #expect(daemon.log.contains("rtp.srtp=true"), "the bot's side was SRTP")
            // And the bot heard the softphone's packets, every one authenticated.
            func figure(_ name: String) -> Int? {
                guard let range = daemon.log.range(of: name + #"=(\d+)"#, options: .regularExpression) else {
                    return nil
                }
                return Int(daemon.log[range].split(separator: "=").last ?? "")
            }
            #expect((figure("rtp.received") ?? 0) > 100, "\(daemon.log.suffix(1500))")
            #expect(figure("rtp.refused") == 0, "\(daemon.log.suffix(1500))")
            let call = try daemon.lastCall()
            let events = try #require(call["events"] as? [[String: Any]])
            #expect(events.contains { $0["type"] as? String == "say" && $0["key"] as? String == "greeting" })
        }
    }
}
