// "Copy" for the backup codes page. An external file because the Content-Security-Policy forbids inline scripts;
// the page works without it (the button stays hidden and the codes can be selected or downloaded).
'use strict';
document.addEventListener('DOMContentLoaded', () => {
  const button = document.getElementById('copy-backup-codes');
  const status = document.getElementById('copy-status');
  if (!button || !navigator.clipboard) return;
  button.hidden = false;
  button.addEventListener('click', async () => {
    const list = document.getElementById(button.dataset.copyTarget || '');
    const text = Array.from(list ? list.querySelectorAll('code') : [], (c) => c.textContent).join('\n');
    try {
      await navigator.clipboard.writeText(text + '\n');
      if (status) status.textContent = 'Copied.';
    } catch {
      if (status) status.textContent = 'Copying failed; select the codes or download them instead.';
    }
  });
});
