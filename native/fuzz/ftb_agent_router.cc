// libFuzzer harness: an agent's routing (native/ftb/agent_router.h) fed what a hostile or broken
// peer can send - arbitrary 1336-byte messages on several connections, connections lost and
// replaced, parents attached - and checked for more than "no crash": whatever the router emits
// goes to a connection that is open and is a message type the protocol knows, and a message of a
// known type is never refused. The subscription caps are tiny, so their paths run too. Built
// and run by scripts/fuzz.sh (`npm run fuzz`), not the addon.
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <set>

#include "ftb/agent_router.h"
#include "ftb/identity.h"

namespace {

using namespace crftb::ftb;

constexpr int32_t kTypes[] = {wire::kNotify,
                              wire::kClientReg,
                              wire::kClientDereg,
                              wire::kCleanupConn,
                              wire::kRegPublishableEvent,
                              wire::kRegSubscription,
                              wire::kPublishableEventRegCancel,
                              wire::kSubscriptionCancel};
constexpr size_t kSlots = 4;  // connections alive at once

bool KnownType(int32_t type) {
  for (int32_t t : kTypes)
    if (t == type) return true;
  return false;
}

class CheckingSink : public RouterSink {
 public:
  std::set<ConnId> open;
  void Send(ConnId conn, const wire::Message& message, bool) override {
    if (!open.count(conn) || !KnownType(message.msg_type)) __builtin_trap();
  }
  void CloseAfterFlush(ConnId conn) override {
    if (!open.count(conn)) __builtin_trap();
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const wire::FtbId self =
      MakeFtbId(MakeLocation("fuzz-agent", "Thu_Jan_01_001_00:00:00", 1), ManagerClientId(kAgentManagerExt));
  CheckingSink sink;
  AgentRouter router(self, &sink, RouterLimits{3, 5});  // small caps, so refusals are reached
  ConnId slots[kSlots];
  ConnId next = 1;
  for (ConnId& slot : slots) sink.open.insert(slot = next++);

  size_t at = 0;
  while (at < size) {
    const uint8_t op = data[at++];
    ConnId& conn = slots[(op >> 2) % kSlots];
    switch (op & 3) {
      case 0:
      case 1: {  // a message; op bit 0 keeps the fuzzer's msg_type, else one the router knows
        wire::Message message;
        memset(&message, 0, sizeof message);
        const size_t take = size - at < sizeof message ? size - at : sizeof message;
        memcpy(&message, data + at, take);
        at += take;
        if ((op & 1) == 0) message.msg_type = kTypes[(op >> 4) % (sizeof kTypes / sizeof kTypes[0])];
        const bool accepted = router.OnMessage(conn, message);
        if (accepted != KnownType(message.msg_type)) __builtin_trap();
        break;
      }
      case 2:  // the connection drops; a new one takes its slot
        router.OnConnectionLost(conn);
        sink.open.erase(conn);
        sink.open.insert(conn = next++);
        break;
      case 3: {  // this connection becomes our parent
        wire::LocationId parent;
        memset(&parent, 0, sizeof parent);
        const size_t take = size - at < sizeof parent ? size - at : sizeof parent;
        memcpy(&parent, data + at, take);
        at += take;
        if (router.IsParentConn(conn)) break;
        router.AddParent(conn, parent);
        break;
      }
    }
  }
  router.SayGoodbye();
  return 0;
}
