// The process publisher. Until the FTB client library is linked in, every event is counted as
// dropped: checkpoints never depend on FTB.
#include <mutex>

#include "cr/event_publisher.h"

namespace crftb::cr {

namespace {

class DroppingPublisher : public EventPublisher {
 public:
  bool Begin(Operation, ftb::wire::EventHandle*) override {
    std::lock_guard<std::mutex> lock(mutex_);
    ++stats_.dropped;
    return false;
  }
  void End(Operation, const ftb::wire::EventHandle&) override {}
  void Error(Operation, const ftb::wire::EventHandle&, int32_t) override {}
  void CloseForCheckpoint() override {}
  void ReopenAfterCheckpoint() override {}
  PublisherStats Stats() const override {
    std::lock_guard<std::mutex> lock(mutex_);
    return stats_;
  }

 private:
  mutable std::mutex mutex_;
  PublisherStats stats_;
};

DroppingPublisher& Instance() {
  static DroppingPublisher* publisher = new DroppingPublisher;  // lives until exit, never destroyed
  return *publisher;
}

}  // namespace

EventPublisher& ProcessPublisher(const FtbSettings&) { return Instance(); }
PublisherStats ProcessPublisherStats() { return Instance().Stats(); }

}  // namespace crftb::cr
