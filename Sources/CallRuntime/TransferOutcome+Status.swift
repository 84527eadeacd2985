package import CallbotCore

extension TransferOutcome {
    /// How a transfer ended, from the final SIP status of the transferred call (as NOTIFY
    /// reports it): 2xx answered; 486 and 600/603 busy or declined; 408, 480 and 487 no answer
    /// (timeout, unavailable, cancelled); anything else failed.
    package init(finalStatus status: Int) {
        switch status {
        case 200..<300: self = .answered
        case 486, 600, 603: self = .busy
        case 408, 480, 487: self = .noAnswer
        default: self = .failed
        }
    }
}
