// Admins' page for inboxes and teams (issue 14), at #/teams, linked from the settings page: name inboxes and attach
// them to teams, allow addresses whose events were ignored (or every new one), block an inbox, make and edit teams.

import { api } from './api.js';
import { loadDirectory } from './inboxes.js';
import { CHANNELS, channelBadge, channelName, errorText, fmtDateTime, h, replace, toast } from './ui.js';

let serial = 0;
const idOf = (el) => {
  el.id = el.id || `teams-${(serial += 1)}`;
  return el.id;
};
const field = (label, input, hint) => h('div', { class: 'field' }, h('label', { for: idOf(input) }, label), input,
  hint ? h('p', { class: 'hint' }, hint) : null);

/** "a@x.com, b@x.com\nc@x.com" -> ["a@x.com", "b@x.com", "c@x.com"] */
export function parseMembers(text) {
  return [...new Set(text.split(/[\s,;]+/).map((m) => m.trim().toLowerCase()).filter(Boolean))];
}

export function createTeamsPage({ me }) {
  const status = h('p', { class: 'page-status', role: 'status', 'data-testid': 'teams-status' });
  const error = h('p', { class: 'form-error', role: 'alert', 'data-testid': 'teams-error' });
  const body = h('div', {});
  const root = h('section', { class: 'page teams-page', 'data-testid': 'teams-page', 'aria-labelledby': 'teams-title' },
    h('p', {}, h('a', { href: '#/settings' }, '← Settings')),
    h('h2', { id: 'teams-title' }, 'Inboxes and teams'), status, error, body);

  let state = { inboxes: [], ignored: [], teams: [], agents: [], acceptNew: false };

  async function run(what, call, done) {
    error.textContent = '';
    try {
      const result = await call();
      if (done) toast(done);
      await load();
      loadDirectory(true); // the inbox's filters and headers see the change
      return result;
    } catch (err) {
      error.textContent = errorText(err, what);
      return null;
    }
  }

  const teamOptions = (selected) => [h('option', { value: '', selected: !selected }, 'No team'),
    ...state.teams.map((t) => h('option', { value: t.id, selected: t.id === selected }, t.name))];

  function inboxRow(inbox) {
    const name = h('input', { type: 'text', value: inbox.name || '', maxlength: '80', placeholder: inbox.address,
                              'data-testid': 'inbox-name', 'aria-label': `Name of ${channelName(inbox.channel)} ${inbox.address}` });
    const team = h('select', { 'data-testid': 'inbox-team', 'aria-label': `Team of ${channelName(inbox.channel)} ${inbox.address}` },
      teamOptions(inbox.team));
    const save = h('button', { type: 'button', class: 'small primary', 'data-testid': 'inbox-save' }, 'Save');
    save.addEventListener('click', () => run('Saving the inbox',
      () => api.patchInbox(inbox.id, { name: name.value.trim(), team: team.value }), 'Inbox saved.'));
    const blocked = inbox.status === 'blocked';
    const toggle = blocked
      ? h('button', { type: 'button', class: 'small', 'data-testid': 'inbox-unblock' }, 'Unblock')
      : h('button', { type: 'button', class: 'small danger', 'data-testid': 'inbox-block',
                      title: 'Not the business\'s any more: ignore its events (its conversations stay)' }, 'Block');
    toggle.addEventListener('click', () => (blocked
      ? run('Unblocking the inbox', () => api.addInbox({ channel: inbox.channel, address: inbox.address }), 'Inbox unblocked.')
      : run('Blocking the inbox', () => api.blockInbox(inbox.id), 'Inbox blocked: its events are ignored.')));
    return h('tr', { 'data-testid': 'inbox-row', 'data-id': inbox.id, class: blocked ? 'blocked' : null },
      h('td', {}, channelBadge(inbox.channel)),
      h('td', { class: 'address' }, inbox.address, blocked ? h('span', { class: 'badge status-blocked' }, 'blocked') : null),
      h('td', {}, name), h('td', {}, team), h('td', { class: 'row-actions' }, save, ' ', toggle));
  }

  function ignoredRow(ignored) {
    const allow = h('button', { type: 'button', class: 'small primary', 'data-testid': 'ignored-allow' }, 'Allow');
    allow.addEventListener('click', () => run('Allowing the address',
      () => api.addInbox({ channel: ignored.channel, address: ignored.address }), 'Allowed: its next events are filed.'));
    return h('tr', { 'data-testid': 'ignored-row' },
      h('td', {}, channelBadge(ignored.channel)), h('td', { class: 'address' }, ignored.address),
      h('td', {}, `${ignored.events} event${ignored.events === 1 ? '' : 's'}`),
      h('td', {}, `last ${fmtDateTime(ignored.last_at)}`), h('td', {}, allow));
  }

  function teamRow(team) {
    const name = h('input', { type: 'text', value: team.name, maxlength: '80', 'data-testid': 'team-name',
                              'aria-label': 'Team name' });
    const members = h('textarea', { rows: 2, 'data-testid': 'team-members', 'aria-label': `Members of ${team.name}`,
                                    placeholder: 'agent@example.com, one per line' });
    members.value = team.members.join('\n');
    const save = h('button', { type: 'button', class: 'small primary', 'data-testid': 'team-save' }, 'Save');
    save.addEventListener('click', () => run('Saving the team',
      () => api.putTeam(team.id, { name: name.value.trim(), members: parseMembers(members.value) }), 'Team saved.'));
    const remove = h('button', { type: 'button', class: 'small danger', 'data-testid': 'team-delete' }, 'Delete');
    remove.addEventListener('click', () => {
      if (window.confirm(`Delete the team ${team.name}? Its inboxes will have no team.`)) {
        run('Deleting the team', () => api.deleteTeam(team.id), 'Team deleted.');
      }
    });
    const inboxes = state.inboxes.filter((i) => i.team === team.id).map((i) => i.name || i.address);
    return h('tr', { 'data-testid': 'team-row', 'data-id': team.id },
      h('td', {}, name), h('td', {}, members),
      h('td', { class: 'muted' }, inboxes.length ? inboxes.join(', ') : 'no inbox'),
      h('td', { class: 'row-actions' }, save, ' ', remove));
  }

  function build() {
    const acceptNew = h('input', { type: 'checkbox', checked: state.acceptNew, 'data-testid': 'accept-new' });
    acceptNew.addEventListener('change', () => run('Changing the setting',
      () => api.putSettings({ inboxes: { accept_new: acceptNew.checked } }),
      acceptNew.checked ? 'Every new address will become an inbox.' : 'New addresses will be ignored until allowed.'));

    const newChannel = h('select', { 'data-testid': 'inbox-new-channel' },
      CHANNELS.map((c) => h('option', { value: c }, channelName(c))));
    const newAddress = h('input', { type: 'text', maxlength: '320', autocomplete: 'off', 'data-testid': 'inbox-new-address',
                                    placeholder: 'phone_number_id, Page id, number, address or widget id' });
    const newName = h('input', { type: 'text', maxlength: '80', 'data-testid': 'inbox-new-name' });
    const addForm = h('form', { class: 'inline-form', 'aria-label': 'Add an inbox' },
      field('Channel', newChannel), field('Address', newAddress), field('Name (optional)', newName),
      h('button', { type: 'submit', class: 'small', 'data-testid': 'inbox-add' }, 'Add inbox'));
    addForm.addEventListener('submit', (e) => {
      e.preventDefault();
      if (!newAddress.value.trim()) {
        error.textContent = 'The address is needed: the number id, Page id, email address or widget id.';
        return;
      }
      run('Adding the inbox', () => api.addInbox({ channel: newChannel.value, address: newAddress.value.trim(),
                                                   ...(newName.value.trim() ? { name: newName.value.trim() } : {}) }),
      'Inbox added.');
    });

    const teamName = h('input', { type: 'text', maxlength: '80', 'data-testid': 'team-new-name', required: true });
    const teamMembers = h('textarea', { rows: 2, 'data-testid': 'team-new-members',
                                        placeholder: 'agent@example.com, one per line' });
    const known = state.agents.map((a) => a.email);
    const teamForm = h('form', { class: 'inline-form', 'aria-label': 'New team' },
      field('Team name', teamName), field('Members', teamMembers),
      h('button', { type: 'submit', class: 'small primary', 'data-testid': 'team-create' }, 'Create team'));
    const agentsHint = h('p', { class: 'hint' }, known.length
      ? `Members are agents' emails. Agents who have set their availability: ${known.join(', ')}.`
      : 'Members are agents\' emails, one per line.');
    teamForm.addEventListener('submit', (e) => {
      e.preventDefault();
      if (!teamName.value.trim()) {
        error.textContent = 'A team needs a name.';
        return;
      }
      run('Creating the team', () => api.createTeam({ name: teamName.value.trim(), members: parseMembers(teamMembers.value) }),
        'Team created.');
    });

    const table = (head, rows, testid) => h('table', { class: 'data-table', 'data-testid': testid },
      h('thead', {}, h('tr', {}, head.map((c) => h('th', { scope: 'col' }, c)))), h('tbody', {}, rows));

    replace(body,
      h('section', { class: 'settings-form', 'aria-labelledby': 'inboxes-title' },
        h('h3', { id: 'inboxes-title' }, 'Inboxes'),
        h('p', { class: 'hint' }, 'Each business number, Page, account, bot, email address and chat widget is an inbox. '
          + 'New conversations of an inbox with a team go in turn to the team\'s available members.'),
        state.inboxes.length
          ? table(['Channel', 'Address', 'Name', 'Team', ''], state.inboxes.map(inboxRow), 'inboxes-table')
          : h('p', { class: 'muted' }, 'No inbox yet: one appears with its first message.'),
        h('div', { class: 'field check' }, acceptNew, h('label', { for: idOf(acceptNew) },
          'Accept new inboxes: every new business address becomes an inbox on its first message')),
        h('p', { class: 'hint' }, 'Off (recommended): a channel\'s first number, Page or account is adopted; messages for '
          + 'any other are ignored (counted below) until you allow it. The Telegram bot, the default chat widget, '
          + 'the addresses of your mail domains and the numbers this deployment sends from are always inboxes.'),
        h('h4', {}, 'Ignored addresses'),
        state.ignored.length
          ? table(['Channel', 'Address', 'Ignored', 'When', ''], state.ignored.map(ignoredRow), 'ignored-table')
          : h('p', { class: 'muted', 'data-testid': 'ignored-none' }, 'No message was ignored in the last 30 days.'),
        h('h4', {}, 'Add an inbox'), addForm),
      h('section', { class: 'settings-form', 'aria-labelledby': 'team-list-title' },
        h('h3', { id: 'team-list-title' }, 'Teams'),
        state.teams.length
          ? table(['Name', 'Members', 'Inboxes', ''], state.teams.map(teamRow), 'teams-table')
          : h('p', { class: 'muted' }, 'No team yet: without teams, new conversations go to every available agent.'),
        h('h4', {}, 'New team'), teamForm, agentsHint));
  }

  async function load() {
    const [inboxes, teams, agents, settings] = await Promise.all([api.inboxes(true), api.teams(),
      api.agents().catch(() => ({ items: [] })), api.settings()]);
    state = { inboxes: inboxes.items || [], ignored: inboxes.ignored || [], teams: teams.items || [],
              agents: agents.items || [], acceptNew: !!(settings.inboxes && settings.inboxes.accept_new) };
    build();
  }

  async function mount(container) {
    container.replaceChildren(root);
    if (me.role !== 'admin') {
      status.textContent = 'Only admins can change inboxes and teams.';
      return;
    }
    status.textContent = 'Loading…';
    try {
      await load();
      status.textContent = '';
    } catch (err) {
      status.textContent = errorText(err, 'Loading inboxes and teams');
    }
  }

  return { root, mount, unmount() { root.remove(); } };
}
