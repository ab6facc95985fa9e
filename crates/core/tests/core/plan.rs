use junction_core::plan::{self, PlanError};
use junction_core::{Action, FaultInjection, Plan};
use std::sync::Mutex;

#[derive(Debug, Clone)]
struct Stmt(String);
impl Action for Stmt {
    fn render(&self) -> String {
        format!("{};", self.0)
    }
}

fn plan3() -> Plan<Stmt> {
    Plan::new()
        .step("a", Stmt("create a".into()), Some(Stmt("drop a".into())))
        .step("b", Stmt("create b".into()), None)
        .step("c", Stmt("create c".into()), Some(Stmt("drop c".into())))
}

#[test]
fn scripts_render_steps_and_undos_in_reverse() {
    assert_eq!(plan3().script(), ["create a;", "create b;", "create c;"]);
    assert_eq!(plan3().undo_script(), ["drop c;", "drop a;"]);
}

#[tokio::test]
async fn a_failing_step_rolls_back_what_ran_in_reverse() {
    let log = Mutex::new(Vec::new());
    let p = plan3().step("d", Stmt("create d".into()), Some(Stmt("drop d".into())));
    let res = plan::apply(&p, None, |s: Stmt| {
        log.lock().unwrap().push(s.0.clone());
        let fail = s.0 == "create d";
        async move { if fail { Err("no room") } else { Ok(()) } }
    })
    .await;
    let f = res.unwrap_err();
    assert_eq!(f.step, "d");
    assert!(matches!(f.error, PlanError::Action("no room")));
    assert!(f.rollback_failures.is_empty());
    assert_eq!(
        *log.lock().unwrap(),
        [
            "create a", "create b", "create c", "create d", "drop c", "drop a"
        ]
    );
    assert!(
        f.to_string()
            .contains("every step before it was rolled back")
    );
}

#[tokio::test]
async fn injected_faults_stop_before_the_step_and_failed_undos_are_reported() {
    let log = Mutex::new(Vec::new());
    let res = plan::apply(&plan3(), Some(&FaultInjection::at("c")), |s: Stmt| {
        log.lock().unwrap().push(s.0.clone());
        let fail = s.0 == "drop a";
        async move { if fail { Err("locked") } else { Ok(()) } }
    })
    .await;
    let f = res.unwrap_err();
    assert!(matches!(f.error, PlanError::Injected));
    assert_eq!(f.rollback_failures.len(), 1);
    assert_eq!(f.rollback_failures[0].0, "a");
    assert_eq!(*log.lock().unwrap(), ["create a", "create b", "drop a"]);
    assert!(f.to_string().contains("a (locked) to undo by hand"), "{f}");
}

#[tokio::test]
async fn a_plan_without_faults_runs_every_step_once() {
    let log = Mutex::new(Vec::new());
    plan::apply(&plan3(), Some(&FaultInjection::default()), |s: Stmt| {
        log.lock().unwrap().push(s.0);
        async { Ok::<(), ()>(()) }
    })
    .await
    .unwrap();
    assert_eq!(*log.lock().unwrap(), ["create a", "create b", "create c"]);
}

#[test]
fn a_reversed_plan_swaps_each_step_and_its_undo_in_reverse_order() {
    let r = plan3().reversed();
    let ids: Vec<_> = r.steps.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["undo-c", "undo-a"]);
    assert_eq!(r.script(), ["drop c;", "drop a;"]);
    assert_eq!(r.undo_script(), ["create a;", "create c;"]);
}
