// A small SMSC on loopback: the real SMPP peer of the hotline's SMS tests.
//
//   node smsc.js [--port N] [--system-id ID] [--password PW] [--receipt-stat DELIVRD]
//
// Accepts bind_transceiver (with that account), answers submit_sm with a message id,
// joins concatenated parts (UDH IEI 0x00 / 0x08), and once a message is whole sends a
// delivery receipt (deliver_sm, esm_class 0x04) for each part that asked for one.
// Everything it sees is one JSON line on stdout:
//   {"event":"listening","port":N} {"event":"bound",...} {"event":"message","to":..,
//   "from":..,"text":..,"parts":N,"ids":[..],"data_coding":8} {"event":"receipt_acked",..}
// Commands, one JSON line each on stdin:
//   {"cmd":"inbound","from":"13800138000","to":"12368","text":"...","parts":1}
//     sends an inbound SMS (UCS-2; "parts" > 1 splits it with a concatenation header)
'use strict';

const smpp = require('smpp');
const readline = require('readline');

function option(name, fallback) {
  const at = process.argv.indexOf('--' + name);
  return at >= 0 ? process.argv[at + 1] : fallback;
}

const PORT = Number(option('port', '0'));
const SYSTEM_ID = option('system-id', 'hotline');
const PASSWORD = option('password', 'secret');
const RECEIPT_STAT = option('receipt-stat', 'DELIVRD');

function say(event) {
  process.stdout.write(JSON.stringify(event) + '\n');
}

const sessions = new Set();
const partial = new Map(); // "from|to|ref|total" -> {parts: Map(index -> text), ids, receipts}
let nextId = 1;
let nextRef = 1;

function concatenation(udhList) {
  for (const udh of udhList || []) {
    if (udh[0] === 0x00 && udh[1] === 3) return {ref: udh[2], total: udh[3], index: udh[4]};
    if (udh[0] === 0x08 && udh[1] === 4) return {ref: udh[2] * 256 + udh[3], total: udh[4], index: udh[5]};
  }
  return null;
}

function smppDate(date) {
  const p = (n) => String(n).padStart(2, '0');
  return p(date.getFullYear() % 100) + p(date.getMonth() + 1) + p(date.getDate()) +
    p(date.getHours()) + p(date.getMinutes());
}

function sendReceipt(session, id, to, from) {
  const now = smppDate(new Date());
  const stat = RECEIPT_STAT;
  const text = `id:${id} sub:001 dlvr:${stat === 'DELIVRD' ? '001' : '000'} submit date:${now} ` +
    `done date:${now} stat:${stat} err:000 text:`;
  session.deliver_sm({
    source_addr: to, destination_addr: from, esm_class: 0x04,
    short_message: text, receipted_message_id: id,
    message_state: stat === 'DELIVRD' ? 2 : 5,
  }, (resp) => say({event: 'receipt_acked', id, status: resp.command_status}));
}

function onSubmit(session, pdu) {
  const id = 'M' + String(nextId++).padStart(6, '0');
  session.send(pdu.response({message_id: id}));
  const message = pdu.short_message || {};
  const text = typeof message.message === 'string' ? message.message : String(message.message || '');
  const wantsReceipt = (pdu.registered_delivery & 0x03) !== 0;
  const concat = concatenation(message.udh);
  if (!concat) {
    say({event: 'message', to: pdu.destination_addr, from: pdu.source_addr, text, parts: 1,
         ids: [id], data_coding: pdu.data_coding});
    if (wantsReceipt) sendReceipt(session, id, pdu.destination_addr, pdu.source_addr);
    return;
  }
  const key = [pdu.source_addr, pdu.destination_addr, concat.ref, concat.total].join('|');
  if (!partial.has(key)) partial.set(key, {parts: new Map(), ids: new Map(), receipts: []});
  const whole = partial.get(key);
  whole.parts.set(concat.index, text);
  whole.ids.set(concat.index, id);
  if (wantsReceipt) whole.receipts.push(id);
  say({event: 'part', to: pdu.destination_addr, index: concat.index, total: concat.total, id});
  if (whole.parts.size < concat.total) return;
  partial.delete(key);
  const order = [...whole.parts.keys()].sort((a, b) => a - b);
  // JavaScript strings are UTF-16: a character split across parts joins up again here.
  say({event: 'message', to: pdu.destination_addr, from: pdu.source_addr,
       text: order.map((i) => whole.parts.get(i)).join(''), parts: concat.total,
       ids: order.map((i) => whole.ids.get(i)), data_coding: pdu.data_coding});
  for (const receiptId of whole.receipts) sendReceipt(session, receiptId, pdu.destination_addr, pdu.source_addr);
}

const server = smpp.createServer((session) => {
  session.on('bind_transceiver', (pdu) => {
    if (pdu.system_id !== SYSTEM_ID || pdu.password !== PASSWORD) {
      say({event: 'bind_refused', system_id: pdu.system_id});
      session.send(pdu.response({command_status: smpp.ESME_RBINDFAIL}));
      session.close();
      return;
    }
    session.send(pdu.response());
    sessions.add(session);
    say({event: 'bound', system_id: pdu.system_id});
  });
  session.on('submit_sm', (pdu) => onSubmit(session, pdu));
  session.on('enquire_link', (pdu) => session.send(pdu.response()));
  session.on('unbind', (pdu) => { session.send(pdu.response()); session.close(); });
  session.on('close', () => { sessions.delete(session); say({event: 'closed'}); });
  session.on('error', (err) => say({event: 'session_error', error: String(err)}));
});

function sendInbound(command) {
  const text = String(command.text);
  const parts = Math.max(1, Number(command.parts || 1));
  const size = Math.ceil(text.length / parts);
  const ref = nextRef++ % 256;
  for (const session of sessions) {
    for (let i = 0; i < parts; i++) {
      const chunk = text.slice(i * size, (i + 1) * size);
      const short = parts === 1 ? chunk
        : {udh: Buffer.from([0x05, 0x00, 0x03, ref, parts, i + 1]), message: chunk};
      session.deliver_sm({
        source_addr: command.from, destination_addr: command.to || '12368',
        data_coding: 0x08, short_message: short,
      }, (resp) => say({event: 'inbound_acked', from: command.from, part: i + 1,
                         status: resp.command_status}));
    }
  }
  say({event: 'inbound_sent', sessions: sessions.size});
}

readline.createInterface({input: process.stdin}).on('line', (line) => {
  if (!line.trim()) return;
  let command;
  try { command = JSON.parse(line); } catch (err) { say({event: 'bad_command', line}); return; }
  if (command.cmd === 'inbound') sendInbound(command);
  else say({event: 'bad_command', line});
});

server.listen(PORT, '127.0.0.1', () => say({event: 'listening', port: server.address().port}));
