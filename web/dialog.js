// ask shows a modal confirmation (a <dialog>, not window.confirm, so it
// can say what will happen in the page's own words and style) and answers
// whether the person chose the action. Escape and Cancel answer false.

export function ask({ title, text, action, danger = false }) {
  const dialog = document.getElementById('confirm');
  dialog.querySelector('#confirm-title').textContent = title;
  dialog.querySelector('#confirm-text').textContent = text;
  const ok = dialog.querySelector('#confirm-ok');
  ok.textContent = action;
  ok.classList.toggle('danger', danger);
  const opener = document.activeElement;
  return new Promise((resolve) => {
    dialog.returnValue = '';
    ok.onclick = () => dialog.close('ok');
    dialog.querySelector('#confirm-cancel').onclick = () => dialog.close('cancel');
    dialog.addEventListener('close', () => {
      if (opener && opener.isConnected) opener.focus();
      resolve(dialog.returnValue === 'ok');
    }, { once: true });
    dialog.showModal();
    // The harmless choice has the focus: Enter alone destroys nothing.
    dialog.querySelector('#confirm-cancel').focus();
  });
}
