#include "actuator/actuator.hpp"
#include "actuator/dry_run_actuator.hpp"
#include "actuator/freeze_actuator.hpp"
#include "actuator/page_out.hpp"
#include "actuator/signal_actuator.hpp"
#include "actuator/watchdog.hpp"

namespace swamp {

std::unique_ptr<Actuator> make_actuator(const ActuatorOptions& o) {
    if (o.kind == ActionKind::DryRun) return std::make_unique<DryRunActuator>();
    Vetter vetter(o.protect);
    if (o.watchdog) vetter.protect_pid(o.watchdog->pid());
    std::unique_ptr<Actuator> a;
    if (o.kind == ActionKind::Freeze)
        a = std::make_unique<FreezeActuator>(o.build_root, std::move(vetter), o.host);
    else
        a = std::make_unique<SignalActuator>(std::move(vetter));
    if (o.watchdog) a = std::make_unique<WatchedActuator>(std::move(a), *o.watchdog);
    if (o.page_out.mode != PageOutMode::Off) a = std::make_unique<PagingActuator>(std::move(a), o.page_out);
    return a;
}

}  // namespace swamp
