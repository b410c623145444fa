// Small DOM helpers the views share.

// el makes an element with attributes (a "hidden" of '' sets the flag) and
// children (strings become text, never HTML).
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'value' && 'value' in e) e.value = v;
    else e.setAttribute(k, String(v));
  }
  e.append(...children);
  return e;
}

// errorReporter is where a button's failure goes; app.js sets it.
let report = (err) => console.error(err);
export function onButtonError(fn) { report = fn; }

// button runs onClick(button) and shows its failure. ariaLabel names the
// recording the button acts on, so a screen reader's list of buttons is
// not a column of "Delete".
export function button(label, ariaLabel, onClick) {
  const b = el('button', { type: 'button', 'aria-label': ariaLabel }, label);
  b.onclick = () => {
    report(null);
    Promise.resolve().then(() => onClick(b)).catch(report);
  };
  return b;
}
