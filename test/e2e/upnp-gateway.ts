// A UPnP Internet Gateway Device for the NAT e2e test, run inside a router namespace: it answers
// SSDP searches on the LAN and, asked over SOAP (WANIPConnection:2) for a port mapping, adds the
// DNAT rule to the router's nftables, as a home router would. Only what a UPnP client needs:
// GetExternalIPAddress, AddPortMapping / AddAnyPortMapping, DeletePortMapping.
// Run: node upnp-gateway.js <lan ip> <external ip>; prints "ready <port>" on stdout.
import { createSocket } from 'node:dgram'
import { createServer } from 'node:http'
import { execFileSync } from 'node:child_process'

const [lanIp, externalIp] = process.argv.slice(2)
const SSDP_ADDR = '239.255.255.250'
const IGD = 'urn:schemas-upnp-org:device:InternetGatewayDevice:2'
const WAN_IP = 'urn:schemas-upnp-org:service:WANIPConnection:2'
const UUID = 'uuid:7a9d1f4e-0000-4000-8000-tapestry-test'

const description = (port: number): string => `<?xml version="1.0"?>
<root xmlns="urn:schemas-upnp-org:device-1-0">
  <specVersion><major>1</major><minor>0</minor></specVersion>
  <URLBase>http://${lanIp}:${port}/</URLBase>
  <device>
    <deviceType>${IGD}</deviceType><friendlyName>test gateway</friendlyName><UDN>${UUID}</UDN>
    <deviceList><device>
      <deviceType>urn:schemas-upnp-org:device:WANDevice:2</deviceType><UDN>${UUID}-wan</UDN>
      <deviceList><device>
        <deviceType>urn:schemas-upnp-org:device:WANConnectionDevice:2</deviceType><UDN>${UUID}-conn</UDN>
        <serviceList><service>
          <serviceType>${WAN_IP}</serviceType><serviceId>urn:upnp-org:serviceId:WANIPConn1</serviceId>
          <SCPDURL>/scpd.xml</SCPDURL><controlURL>/ctl</controlURL><eventSubURL>/evt</eventSubURL>
        </service></serviceList>
      </device></deviceList>
    </device></deviceList>
  </device>
</root>`

const soap = (action: string, body: string): string => `<?xml version="1.0"?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">
<s:Body><u:${action}Response xmlns:u="${WAN_IP}">${body}</u:${action}Response></s:Body></s:Envelope>`

const arg = (xml: string, name: string): string => new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1] ?? ''

const http = createServer((req, res) => {
  let body = ''
  req.on('data', (d: Buffer) => { body += d.toString() })
  req.on('end', () => {
    if (req.method === 'GET') {
      res.writeHead(200, { 'Content-Type': 'text/xml' })
      res.end(req.url === '/scpd.xml' ? '<?xml version="1.0"?><scpd xmlns="urn:schemas-upnp-org:service-1-0"/>' : description(port))
      return
    }
    const action = /#(\w+)"?$/.exec(String(req.headers.soapaction ?? ''))?.[1] ?? ''
    let out = ''
    if (action === 'GetExternalIPAddress') {
      out = `<NewExternalIPAddress>${externalIp}</NewExternalIPAddress>`
    } else if (action === 'AddPortMapping' || action === 'AddAnyPortMapping') {
      const proto = arg(body, 'NewProtocol').toLowerCase() === 'udp' ? 'udp' : 'tcp'
      const external = Number(arg(body, 'NewExternalPort'))
      const client = arg(body, 'NewInternalClient')
      const internal = Number(arg(body, 'NewInternalPort'))
      execFileSync('nft', ['add', 'rule', 'ip', 'nat', 'pre', 'ip', 'daddr', externalIp, proto, 'dport', String(external), 'dnat', 'to', `${client}:${internal}`])
      process.stdout.write(`mapped ${proto} ${externalIp}:${external} -> ${client}:${internal}\n`)
      if (action === 'AddAnyPortMapping') out = `<NewReservedPort>${external}</NewReservedPort>`
    } else if (action !== 'DeletePortMapping') {
      res.writeHead(500, { 'Content-Type': 'text/xml' })
      res.end(soap('Error', ''))
      return
    }
    res.writeHead(200, { 'Content-Type': 'text/xml' })
    res.end(soap(action, out))
  })
})
await new Promise<void>(resolve => http.listen(0, lanIp, resolve))
const port = (http.address() as { port: number }).port

const ssdp = createSocket({ type: 'udp4', reuseAddr: true })
ssdp.on('message', (msg, from) => {
  const text = msg.toString()
  if (!text.startsWith('M-SEARCH')) return
  const st = /^ST:\s*(.+)$/mi.exec(text)?.[1]?.trim() ?? ''
  if (st !== 'ssdp:all' && st !== IGD && st !== 'upnp:rootdevice') return
  const reply = ['HTTP/1.1 200 OK', 'CACHE-CONTROL: max-age=120', `LOCATION: http://${lanIp}:${port}/desc.xml`, 'SERVER: Linux/6 UPnP/1.1 tapestry-test/1',
    `ST: ${IGD}`, `USN: ${UUID}::${IGD}`, 'EXT:', '', ''].join('\r\n')
  ssdp.send(reply, from.port, from.address)
})
ssdp.bind(1900, () => {
  ssdp.addMembership(SSDP_ADDR, lanIp)
  process.stdout.write(`ready ${port}\n`)
})
