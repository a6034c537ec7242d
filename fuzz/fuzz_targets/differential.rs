//! Structured households → assessed on the shipped library's generated
//! code, on the lowered code, on the IR evaluator alone and on the IR
//! evaluator with the trace on, under a step budget the input chooses: all
//! four give the same assessment to the last digit, or the same error.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (fupin_fuzz::FuzzHousehold, u16)| {
    let (input, budget) = input;
    let as_of = fupin_fuzz::as_of(input.date);
    // small budgets exercise the hand-over at the limit; 0 means the default
    let budget = if budget == 0 { fupin::eval::DEFAULT_BUDGET } else { u64::from(budget) };
    fupin_fuzz::assess_every_tier(&input.household, as_of, budget);
});
