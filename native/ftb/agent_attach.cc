#include "ftb/agent_attach.h"

#include <algorithm>

#include "common/deadline.h"
#include "common/unique_fd.h"
#include "ftb/agent.h"
#include "ftb/config.h"
#include "ftb/identity.h"
#include "ftb/net.h"

namespace crftb::ftb {

namespace {

constexpr int kUnattachedLevel = 65535;
constexpr int kMaxBackoffMs = 2000;
// Shorter than FTB's 0.1…25.6 s schedule so shutdown and retries stay prompt; the loop retries.
const std::vector<int> kAttemptTimeouts = {100, 300, 900};
const std::vector<int> kQuickTimeouts = {100, 300};

}  // namespace

AgentAttacher::AgentAttacher(Agent* agent, const AttachConfig& config) : agent_(agent), config_(config) {
  ParseFtbAddress(config.bootstrap_host, &server_);  // validated by Agent::Start
  thread_ = std::thread([this] { Run(); });
}

AgentAttacher::~AgentAttacher() { Stop(); }

void AgentAttacher::ParentLost(const std::string& name, int port) {
  std::lock_guard<std::mutex> lock(mutex_);
  parent_lost_ = true;
  lost_name_ = name;
  lost_port_ = port;
  wake_.notify_all();
}

void AgentAttacher::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
    wake_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
  if (registered_) {
    wire::BootstrapPacket reply;
    Exchange(wire::kDeregReq, 0, "", 0, &reply, /*quick=*/true);
  }
}

uint64_t AgentAttacher::reattachments() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return reattachments_;
}

bool AgentAttacher::WaitFor(int ms) {
  std::unique_lock<std::mutex> lock(mutex_);
  wake_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stopping_; });
  return !stopping_;
}

void AgentAttacher::Run() {
  int backoff = 50;
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) return;
    }
    if (!AttachOnce()) {
      if (!WaitFor(backoff)) return;
      backoff = std::min(backoff * 2, kMaxBackoffMs);
      continue;
    }
    backoff = 50;
    // Attached: wait for the loop to report the parent lost; refresh the registration meanwhile.
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stopping_ && !parent_lost_) {
      if (!wake_.wait_for(lock, std::chrono::milliseconds(config_.refresh_ms),
                          [this] { return stopping_ || parent_lost_; })) {
        lock.unlock();
        wire::BootstrapPacket reply;
        if (Exchange(wire::kRegReq, level_, "", 0, &reply, true) && reply.type == wire::kRegRep) {
          registered_ = true;
        }
        lock.lock();
      }
    }
    if (stopping_) return;
    parent_lost_ = false;
    ++reattachments_;
  }
}

bool AgentAttacher::AttachOnce() {
  std::string lost_name;
  int lost_port;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    lost_name = lost_name_;
    lost_port = lost_port_;
  }
  wire::BootstrapPacket reply;
  if (!Exchange(wire::kAddrReq, level_, lost_name, lost_port, &reply, false) || reply.type != wire::kAddrRep) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      lost_name_.clear();  // as FTB: a silent server makes us forget the lost parent
      lost_port_ = 0;
    }
    if (!bootstrap_silent_) {
      bootstrap_silent_ = true;
      agent_->Report(AgentEvent{"bootstrap-unreachable",
                                "no answer from the bootstrap server " + config_.bootstrap_host + ":" +
                                    std::to_string(config_.bootstrap_port) + "; serving local clients and retrying",
                                0, ""});
    }
    return false;
  }
  bootstrap_silent_ = false;

  const std::string parent_name = reply.parent_addr.name.get();
  const int parent_port = reply.parent_addr.port;
  if (parent_port == 0) {  // nobody eligible: we are the root
    wire::BootstrapPacket reg;
    if (Exchange(wire::kRegReq, 1, "", 0, &reg, false) && reg.type == wire::kRegRep) {
      level_ = 1;
      registered_ = true;
      std::lock_guard<std::mutex> lock(mutex_);
      lost_name_.clear();
      lost_port_ = 0;
      agent_->BecomeRoot(1);
      return true;
    }
    level_ = kUnattachedLevel;  // refused (another root lives): ask again
    return false;
  }
  if (!ConnectToParent(parent_name, parent_port, reply.level)) {
    wire::BootstrapPacket conn_fail;
    memset(&conn_fail, 0, sizeof conn_fail);
    conn_fail.type = wire::kConnFail;
    conn_fail.addr.name.set(parent_name);
    conn_fail.addr.port = parent_port;
    conn_fail.parent_addr = conn_fail.addr;  // where the 0.6.2 server looks
    net::BootstrapExchange(server_, config_.bootstrap_port, conn_fail, nullptr, {0});
    std::lock_guard<std::mutex> lock(mutex_);
    lost_name_ = parent_name;
    lost_port_ = parent_port;
    return false;
  }
  return true;
}

bool AgentAttacher::ConnectToParent(const std::string& name, int port, int parent_level) {
  in_addr address;
  if (!ParseFtbAddress(name, &address)) return false;
  UniqueFd fd;
  if (!net::ConnectTcp(address, port, config_.connect_timeout_ms, &fd).ok()) return false;

  const wire::LocationId& self = agent_->location();
  wire::Handshake handshake;
  memset(&handshake, 0, sizeof handshake);
  handshake.system_id = wire::kSystemId;
  handshake.location = self;
  handshake.registration.msg_type = wire::kClientReg;
  handshake.registration.src = MakeFtbId(self, ManagerClientId(kAgentManagerExt));
  const int64_t deadline = DeadlineAfter(config_.connect_timeout_ms);
  wire::LocationId parent_location;
  if (!net::WriteFull(fd.get(), &handshake, sizeof handshake, deadline).ok() ||
      !net::ReadFull(fd.get(), &parent_location, sizeof parent_location, deadline).ok()) {
    return false;
  }

  const int my_level = parent_level + 1;
  wire::BootstrapPacket reply;
  // FTB treats a failed registration here as a warning only; the link works regardless.
  registered_ = Exchange(wire::kRegReq, my_level, "", 0, &reply, false) && reply.type == wire::kRegRep;
  level_ = my_level;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    lost_name_.clear();
    lost_port_ = 0;
  }
  agent_->AdoptParent(Agent::ParentLink{fd.release(), parent_location, name, port, my_level});
  return true;
}

bool AgentAttacher::Exchange(uint8_t type, int level, const std::string& parent_name, int parent_port,
                             wire::BootstrapPacket* reply, bool quick) {
  wire::BootstrapPacket request;
  memset(&request, 0, sizeof request);
  request.type = type;
  request.addr.name.set(config_.advertise);
  request.addr.port = config_.port;
  request.parent_addr.name.set(parent_name);
  request.parent_addr.port = parent_port;
  request.level = static_cast<uint16_t>(level);
  return net::BootstrapExchange(server_, config_.bootstrap_port, request, reply,
                                quick ? kQuickTimeouts : kAttemptTimeouts)
      .ok();
}

}  // namespace crftb::ftb
