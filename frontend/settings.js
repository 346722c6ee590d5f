// Admins' settings page: greeting, away message and business hours, auto-reply, survey, retention.
// GET /api/settings fills the form; Save sends the sections as edited (PUT merges them) and shows the API's verdict.

import { api } from './api.js';
import { CHANNELS, channelName, errorText, h, replace, toast } from './ui.js';

const WEEKDAYS = [['mon', 'Monday'], ['tue', 'Tuesday'], ['wed', 'Wednesday'], ['thu', 'Thursday'], ['fri', 'Friday'],
  ['sat', 'Saturday'], ['sun', 'Sunday']];

let serial = 0;

/** The input's id, given one if it has none, for its label's `for`. */
function idOf(input) {
  input.id = input.id || `set-${(serial += 1)}`;
  return input.id;
}

function field(label, input, hint) {
  return h('div', { class: 'field' }, h('label', { for: idOf(input) }, label), input, hint ? h('p', { class: 'hint' }, hint) : null);
}

function check(label, input) {
  return h('div', { class: 'field check' }, input, h('label', { for: idOf(input) }, label));
}

/** "09:00-12:00, 13:00-17:00" <-> [["09:00","12:00"],["13:00","17:00"]] */
export function parseIntervals(text) {
  const parts = text.split(',').map((p) => p.trim()).filter(Boolean);
  return parts.map((part) => {
    const m = /^(\d{1,2}:\d{2})\s*[-–]\s*(\d{1,2}:\d{2})$/.exec(part);
    if (!m) throw new Error(`"${part}" is not an interval: write it as 09:00-17:00`);
    return [m[1].padStart(5, '0'), m[2].padStart(5, '0')];
  });
}

const showIntervals = (list) => (list || []).map(([a, b]) => `${a}-${b}`).join(', ');

export function createSettingsPage({ me }) {
  const status = h('p', { class: 'page-status', role: 'status', 'data-testid': 'settings-status' });
  const error = h('p', { class: 'form-error', role: 'alert', 'data-testid': 'settings-error' });
  const body = h('div', {});
  const root = h('section', { class: 'page settings-page', 'data-testid': 'settings', 'aria-labelledby': 'settings-title' },
    h('h2', { id: 'settings-title' }, 'Settings'),
    h('p', {}, h('a', { href: '#/teams', 'data-testid': 'settings-teams-link' }, 'Inboxes and teams →'),
      ' name inboxes, route them to teams, allow new numbers, pages and addresses'), // issue 14
    status, body);

  function build(doc) {
    const inputs = {};
    const text = (value, attrs = {}) => {
      const area = h('textarea', { rows: 3, maxlength: '1000', ...attrs });
      area.value = value ?? ''; // a textarea's value is its content, not an attribute
      return area;
    };
    const line = (value, attrs = {}) => h('input', { type: 'text', ...attrs, value: value ?? '' });
    const number = (value, attrs = {}) => h('input', { type: 'number', ...attrs, value: value ?? '' });
    const box = (value, attrs = {}) => h('input', { type: 'checkbox', ...attrs, checked: !!value });

    const g = doc.greeting; const a = doc.away; const bh = doc.business_hours; const ar = doc.auto_reply;
    const s = doc.survey; const r = doc.retention; const sl = doc.sla || {};
    inputs.greeting = { enabled: box(g.enabled, { 'data-testid': 'settings-greeting-enabled' }),
                        text: text(g.text, { 'data-testid': 'settings-greeting-text' }) };
    inputs.away = { enabled: box(a.enabled), text: text(a.text, { 'data-testid': 'settings-away-text' }) };
    const zones = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
    const zoneList = h('datalist', { id: 'settings-zones' }, zones.map((z) => h('option', { value: z })));
    inputs.hours = {
      timezone: line(bh.timezone, { list: 'settings-zones', 'data-testid': 'settings-timezone', autocomplete: 'off' }),
      days: Object.fromEntries(WEEKDAYS.map(([key]) => [key, line(showIntervals(bh.days[key]),
        { 'data-testid': `settings-hours-${key}`, placeholder: 'closed' })])),
      holidays: text((bh.holidays || []).join('\n'), { rows: 3, placeholder: '2026-12-25', 'data-testid': 'settings-holidays' }),
    };
    inputs.autoReply = { enabled: box(ar.enabled), after: number(ar.after_minutes, { min: 1, max: 1440 }),
                         text: text(ar.text) };
    inputs.survey = { enabled: box(s.enabled, { 'data-testid': 'settings-survey-enabled' }),
                      delay: number(s.delay_minutes, { min: 0, max: 10080 }),
                      subject: line(s.subject, { maxlength: '200' }), text: text(s.text) };
    inputs.surveyInChannel = box(!!s.in_channel, { 'data-testid': 'settings-survey-in-channel' }); // rich replies
    inputs.surveyInChannelText = text(s.in_channel_text || '');
    inputs.surveyTemplate = line(s.whatsapp_template || '', { placeholder: 'rate_us:en_US', maxlength: '530',
                                                             'data-testid': 'settings-survey-template' });
    inputs.retention = { days: number(r.default_days, { min: 1, max: 3650, 'data-testid': 'settings-retention-days' }),
                         channels: Object.fromEntries(CHANNELS.map((c) => [c, number(r.channels[c],
                           { min: 1, max: 3650, placeholder: 'default', 'data-testid': `settings-retention-${c}` })])) };

    // SLA targets (issue 14): minutes, empty for no such target
    inputs.sla = { enabled: box(sl.enabled, { 'data-testid': 'settings-sla-enabled' }),
                   first: number(sl.first_response_minutes, { min: 1, placeholder: 'none', 'data-testid': 'settings-sla-first' }),
                   next: number(sl.next_response_minutes, { min: 1, placeholder: 'none', 'data-testid': 'settings-sla-next' }),
                   resolution: number(sl.resolution_minutes, { min: 1, placeholder: 'none', 'data-testid': 'settings-sla-resolution' }),
                   hoursOnly: box(sl.business_hours_only, { 'data-testid': 'settings-sla-hours-only' }),
                   warn: number(sl.warn_before_minutes, { min: 0, max: 1440, 'data-testid': 'settings-sla-warn' }) };
    // help center: its name, logo and colours
    const hc = doc.help_center || {};
    const colour = (value, attrs = {}) => h('input', { type: 'color', ...attrs, value: value || '#000000' });
    inputs.help = { name: line(hc.name, { maxlength: '80', 'data-testid': 'settings-help-name' }),
                    logo: line(hc.logo_url, { maxlength: '500', placeholder: 'https://… or /help/images/…' }),
                    color: colour(hc.color, { 'data-testid': 'settings-help-color' }), background: colour(hc.background),
                    text: colour(hc.text_color), locale: line(hc.default_locale, { maxlength: '5' }) };
    // the live workspace (issue 15): what customers see of an agent at work
    inputs.customerIndicators = box((doc.live || {}).customer_indicators ?? true,
      { 'data-testid': 'settings-customer-indicators' });
    const save = h('button', { type: 'submit', class: 'primary', 'data-testid': 'settings-save' }, 'Save settings');
    const form = h('form', { class: 'settings-form', novalidate: true },
      h('fieldset', {}, h('legend', {}, 'Greeting (a contact\'s first message)'),
        check('Send a greeting', inputs.greeting.enabled), field('Text', inputs.greeting.text)),
      h('fieldset', {}, h('legend', {}, 'Business hours and away message'),
        field('Time zone', inputs.hours.timezone, 'An IANA name, e.g. Europe/Riga'), zoneList,
        h('div', { class: 'hours' }, WEEKDAYS.map(([key, name]) => field(name, inputs.hours.days[key]))),
        h('p', { class: 'hint' }, 'Opening hours per day, e.g. 09:00-12:00, 13:00-17:00; empty: closed. An end before its start runs past midnight.'),
        field('Holidays (one date per line, closed all day)', inputs.hours.holidays),
        check('Send an away message outside these hours (once a day per conversation)', inputs.away.enabled),
        field('Away message', inputs.away.text)),
      h('fieldset', {}, h('legend', {}, 'Auto-reply while the customer waits'),
        check('Send one holding reply', inputs.autoReply.enabled),
        field('After (minutes without an agent\'s answer)', inputs.autoReply.after), field('Text', inputs.autoReply.text)),
      h('fieldset', {}, h('legend', {}, 'Satisfaction survey (email, after a resolution)'),
        check('Send surveys', inputs.survey.enabled), field('Delay after resolving (minutes)', inputs.survey.delay),
        field('Subject', inputs.survey.subject), field('Text', inputs.survey.text),
        // rich replies (issue 13): the rating question in the customer's own channel, for contacts without an email
        check("Ask contacts without an email in their own channel (WhatsApp, SMS, Messenger, Instagram, Telegram, web chat)",
          inputs.surveyInChannel), field('Question in the channel', inputs.surveyInChannelText),
        field('WhatsApp template past the 24-hour window (name:language; five quick-reply buttons, 1 to 5)',
          inputs.surveyTemplate),
        h('p', { class: 'hint' }, 'Every other word of the email and its pages can be set through PUT /api/settings (survey.page).')),
      h('fieldset', {}, h('legend', {}, 'Retention (days after a conversation\'s last activity)'),
        field('Default', inputs.retention.days),
        h('div', { class: 'hours' }, CHANNELS.map((c) => field(channelName(c), inputs.retention.channels[c])))),
      h('fieldset', {}, h('legend', {}, 'SLA targets (minutes; empty: no such target)'),
        check('Track SLA targets', inputs.sla.enabled),
        h('div', { class: 'hours' }, field('First response', inputs.sla.first), field('Next response', inputs.sla.next),
          field('Resolution', inputs.sla.resolution), field('Warn the assignee this many minutes before', inputs.sla.warn)),
        check('Count only business hours', inputs.sla.hoursOnly),
        h('p', { class: 'hint' }, 'Per-priority targets can be set through PUT /api/settings (sla.by_priority).')),
      h('fieldset', {}, h('legend', {}, 'Live workspace'),
        check('Show customers that support is on it: their message marked read when an agent opens the conversation, '
          + 'and "typing…" while an agent writes (WhatsApp, Messenger, Instagram; Telegram shows typing only)',
          inputs.customerIndicators),
        h('p', { class: 'hint' }, 'Only while the customer\'s reply window is open; SMS and email have no such indicators.')),
      h('fieldset', { 'data-testid': 'settings-help' }, h('legend', {}, 'Help center (the public pages at /help/)'),
        field('Name', inputs.help.name), field('Logo', inputs.help.logo, 'An https:// address, or an image path of an article'),
        h('div', { class: 'hours' }, field('Accent colour', inputs.help.color), field('Background', inputs.help.background),
          field('Text colour', inputs.help.text), field('Default language', inputs.help.locale)),
        h('p', { class: 'hint' }, 'Saving a change rebuilds the public pages.')),
      error, save);

    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      error.textContent = '';
      let patch;
      try {
        patch = collect(inputs);
      } catch (err) {
        error.textContent = err.message;
        return;
      }
      save.disabled = true;
      try {
        const saved = await api.putSettings(patch);
        toast('Settings saved.');
        build(saved);
      } catch (err) {
        error.textContent = errorText(err, 'Saving the settings');
      } finally {
        save.disabled = false;
      }
    });
    replace(body, form, attributesAdmin());
  }

  /** Custom attributes (issue 14): the definitions, one removed or added at a time (POST / DELETE /api/attributes). */
  function attributesAdmin() {
    const list = h('ul', { class: 'canned-list', 'data-testid': 'attribute-list' });
    const problem = h('p', { class: 'form-error', role: 'alert' });
    const key = h('input', { type: 'text', pattern: '[a-z][a-z0-9_]{0,39}', required: true, placeholder: 'plan', 'data-testid': 'attribute-key' });
    const label = h('input', { type: 'text', maxlength: '80', required: true, placeholder: 'Plan', 'data-testid': 'attribute-label' });
    const type = h('select', { 'data-testid': 'attribute-type' },
      ['text', 'number', 'date', 'list', 'checkbox'].map((t) => h('option', { value: t }, t)));
    const appliesTo = h('select', { 'data-testid': 'attribute-applies-to' },
      h('option', { value: 'conversation' }, 'conversations'), h('option', { value: 'contact' }, 'contacts'));
    const options = h('input', { type: 'text', placeholder: 'free, gold (list only)', 'data-testid': 'attribute-options' });
    const add = h('button', { type: 'submit', class: 'small primary', 'data-testid': 'attribute-add' }, 'Add attribute');
    const form = h('form', { class: 'settings-form', 'aria-label': 'New custom attribute' },
      h('div', { class: 'hours' }, field('Key', key), field('Label', label), field('Type', type), field('For', appliesTo),
        field('Options (a list attribute)', options)), problem, add);

    async function show() {
      try {
        const { items } = await api.attributes();
        replace(list, (items || []).length ? items.map((d) => h('li', {},
          h('div', {}, h('span', { class: 'shortcut' }, d.key), ` ${d.label} · ${d.type} · for ${d.applies_to}s`,
            d.options ? h('p', { class: 'canned-text' }, d.options.join(', ')) : null),
          h('button', { type: 'button', class: 'small danger', 'aria-label': `Delete ${d.key}`, onclick: async () => {
            try {
              await api.deleteAttribute(d.key);
              show();
            } catch (err) {
              problem.textContent = errorText(err, 'Deleting');
            }
          } }, 'Delete'))) : h('li', { class: 'muted' }, 'None yet.'));
      } catch (err) {
        problem.textContent = errorText(err, 'Loading the attributes');
      }
    }
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      problem.textContent = '';
      const definition = { key: key.value.trim(), label: label.value.trim(), type: type.value, applies_to: appliesTo.value };
      if (type.value === 'list') definition.options = options.value.split(',').map((o) => o.trim()).filter(Boolean);
      try {
        await api.createAttribute(definition);
        toast(`Attribute ${definition.key} added.`);
        key.value = ''; label.value = ''; options.value = '';
        show();
      } catch (err) {
        problem.textContent = errorText(err, 'Adding the attribute');
      }
    });
    show();
    return h('section', { class: 'settings-form', 'data-testid': 'attributes-admin' },
      h('h3', {}, 'Custom attributes'),
      h('p', { class: 'hint' }, 'Fields agents fill in on conversations and contacts. A list attribute of conversations can filter the inbox.'),
      list, form);
  }

  function collect(inputs) {
    const int = (input, name) => {
      const n = Number(input.value);
      if (input.value.trim() === '' || !Number.isInteger(n)) throw new Error(`${name} must be a whole number.`);
      return n;
    };
    const optional = (input, name) => (input.value.trim() === '' ? null : int(input, name));
    const days = {};
    for (const [key, name] of WEEKDAYS) {
      try {
        days[key] = parseIntervals(inputs.hours.days[key].value);
      } catch (err) {
        throw new Error(`${name}: ${err.message}`);
      }
    }
    const channels = {};
    for (const c of CHANNELS) {
      const v = inputs.retention.channels[c].value.trim();
      channels[c] = v === '' ? null : int(inputs.retention.channels[c], `${channelName(c)} retention`);
    }
    return {
      greeting: { enabled: inputs.greeting.enabled.checked, text: inputs.greeting.text.value },
      away: { enabled: inputs.away.enabled.checked, text: inputs.away.text.value },
      business_hours: { timezone: inputs.hours.timezone.value.trim(), days,
                        holidays: inputs.hours.holidays.value.split(/[\s,]+/).filter(Boolean) },
      auto_reply: { enabled: inputs.autoReply.enabled.checked, after_minutes: int(inputs.autoReply.after, 'The auto-reply delay'),
                    text: inputs.autoReply.text.value },
      survey: { enabled: inputs.survey.enabled.checked, delay_minutes: int(inputs.survey.delay, 'The survey delay'),
                subject: inputs.survey.subject.value, text: inputs.survey.text.value,
                in_channel: inputs.surveyInChannel.checked, in_channel_text: inputs.surveyInChannelText.value,
                whatsapp_template: inputs.surveyTemplate.value.trim() },
      retention: { default_days: int(inputs.retention.days, 'The default retention'), channels },
      sla: { enabled: inputs.sla.enabled.checked, business_hours_only: inputs.sla.hoursOnly.checked,
             first_response_minutes: optional(inputs.sla.first, 'The first response target'),
             next_response_minutes: optional(inputs.sla.next, 'The next response target'),
             resolution_minutes: optional(inputs.sla.resolution, 'The resolution target'),
             warn_before_minutes: int(inputs.sla.warn, 'The warning') },
      live: { customer_indicators: inputs.customerIndicators.checked },
      help_center: { name: inputs.help.name.value, logo_url: inputs.help.logo.value.trim(), color: inputs.help.color.value,
                     background: inputs.help.background.value, text_color: inputs.help.text.value,
                     default_locale: inputs.help.locale.value.trim().toLowerCase() || 'en' },
    };
  }

  async function load() {
    if (me.role !== 'admin') {
      status.textContent = 'Only admins can change the settings.';
      return;
    }
    status.textContent = 'Loading…';
    try {
      build(await api.settings());
      status.textContent = '';
    } catch (err) {
      status.textContent = errorText(err, 'Loading the settings');
    }
  }

  return { root, mount(container) { container.replaceChildren(root); load(); }, unmount() { root.remove(); } };
}
