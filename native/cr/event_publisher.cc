// The process publisher: one FTB client (FTB.checkpoint_sw.blcr, empty name and jobid,
// publish-only) on the process's one FTB connection (ftb/client.h), connected on the first event
// and kept. FTB never decides a checkpoint's outcome: a connect that fails is not retried for a
// while (so checkpoints without an agent do not each wait for it), and every event that cannot
// be published - or is withheld because its BEGIN could not be - is counted as dropped.
#include "cr/event_publisher.h"

#include <chrono>
#include <mutex>
#include <optional>
#include <vector>

#include "ftb/client.h"

namespace crftb::cr {

namespace {

using Clock = std::chrono::steady_clock;

constexpr char kEventSpace[] = "FTB.checkpoint_sw.blcr";
// How long the BEGIN queued just before a dump may take to leave before the socket is closed.
constexpr int kFlushBeforeDumpMs = 500;

const std::vector<ftb::EventDeclaration>& Declarations() {
  static const std::vector<ftb::EventDeclaration> events = {
      {"CHKPT_BEGIN", "INFO"}, {"CHKPT_END", "INFO"}, {"CHKPT_ERROR", "ERROR"},
      {"RSTRT_BEGIN", "INFO"}, {"RSTRT_END", "INFO"}, {"RSTRT_ERROR", "ERROR"},
  };
  return events;
}

bool SameAgent(const FtbSettings& a, const FtbSettings& b) {
  return a.agent_host == b.agent_host && a.agent_port == b.agent_port && a.connect_timeout_ms == b.connect_timeout_ms;
}

class FtbPublisher : public EventPublisher {
 public:
  void Configure(const FtbSettings& settings) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!settings.enabled) return;
    settings_.retry_after_ms = settings.retry_after_ms;  // the latest request's choice
    if (SameAgent(settings, settings_)) return;
    // Another agent: forget the old client and any remembered failure. (The process connection
    // is shared with the application's own FTB clients; it moves only once all of them have left.)
    if (client_) client_->Disconnect();
    client_.reset();
    failed_at_.reset();
    settings_ = settings;
  }

  bool Begin(Operation op, ftb::wire::EventHandle* handle) override {
    std::lock_guard<std::mutex> lock(mutex_);
    return PublishLocked(BeginEventName(op), 1, nullptr, 0, handle);
  }

  void End(Operation op, const ftb::wire::EventHandle& begin) override {
    uint8_t payload[ftb::wire::kPayloadSize];
    BuildEndPayload(begin, payload);
    std::lock_guard<std::mutex> lock(mutex_);
    PublishLocked(EndEventName(op), 2, payload, sizeof payload, nullptr);
  }

  void Error(Operation op, const ftb::wire::EventHandle& begin, int32_t errnum) override {
    uint8_t payload[ftb::wire::kPayloadSize];
    BuildErrorPayload(begin, errnum, payload);
    std::lock_guard<std::mutex> lock(mutex_);
    PublishLocked(ErrorEventName(op), 2, payload, sizeof payload, nullptr);
  }

  void CountSuppressed() override {
    std::lock_guard<std::mutex> lock(mutex_);
    ++stats_.suppressed;
  }

  void CountWithheld() override {
    std::lock_guard<std::mutex> lock(mutex_);
    ++stats_.dropped;
  }

  // The whole process connection goes, not only this client's: the application's own FTB
  // clients share the socket, and no socket may be in the image.
  void CloseForCheckpoint() override { ftb::Client::SuspendProcessConnection(kFlushBeforeDumpMs); }

  void ReopenAfterCheckpoint() override {
    int timeout_ms;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      timeout_ms = settings_.connect_timeout_ms;
    }
    if (ftb::Client::ResumeProcessConnection(timeout_ms)) {
      std::lock_guard<std::mutex> lock(mutex_);
      ++stats_.reconnects;
    }
  }

  PublisherStats Stats() const override {
    std::lock_guard<std::mutex> lock(mutex_);
    return stats_;
  }

 private:
  bool ConnectLocked() {
    if (client_) return true;
    if (failed_at_ && Clock::now() - *failed_at_ < std::chrono::milliseconds(settings_.retry_after_ms)) return false;
    ftb::ClientInfo info;
    info.event_space = kEventSpace;
    info.subscription_style = "FTB_SUBSCRIPTION_NONE";
    ftb::ConnectOptions options;
    if (!settings_.agent_host.empty()) options.agent_host = settings_.agent_host;
    if (settings_.agent_port > 0) options.agent_port = settings_.agent_port;
    options.connect_timeout_ms = settings_.connect_timeout_ms;
    std::shared_ptr<ftb::Client> client;
    Failure failed = ftb::Client::Connect(info, options, &client);
    if (failed.ok()) failed = client->Declare(Declarations());
    if (!failed.ok()) {
      if (client) client->Disconnect();
      failed_at_ = Clock::now();
      return false;
    }
    failed_at_.reset();
    client_ = std::move(client);
    return true;
  }

  bool PublishLocked(const char* name, int event_type, const void* payload, size_t length,
                     ftb::wire::EventHandle* handle) {
    bool sent = ConnectLocked() && client_->Publish(name, event_type, payload, length, handle).ok();
    ++(sent ? stats_.published : stats_.dropped);
    return sent;
  }

  mutable std::mutex mutex_;
  FtbSettings settings_;
  std::shared_ptr<ftb::Client> client_;
  std::optional<Clock::time_point> failed_at_;
  PublisherStats stats_;
};

FtbPublisher& Instance() {
  static FtbPublisher* publisher = new FtbPublisher;  // lives until exit, never destroyed
  return *publisher;
}

}  // namespace

EventPublisher& ProcessPublisher(const FtbSettings& settings) {
  Instance().Configure(settings);
  return Instance();
}

PublisherStats ProcessPublisherStats() { return Instance().Stats(); }

}  // namespace crftb::cr
