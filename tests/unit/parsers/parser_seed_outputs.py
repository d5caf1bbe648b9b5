"""The seed's outputs ("Digital Certificates/PKI for IPSec VPNs"), rebuilt in IOS layout.

The seed text was extracted from a PDF with its columns scrambled and every line prefixed by
``!``; these are the same outputs re-assembled the way the router printed them (12.3T/12.4
layouts, the release the guide used).
"""

ISAKMP_SA_DETAIL_PSK = """\
Codes: C - IKE configuration mode, D - Dead Peer Detection
       K - Keepalives, N - NAT-traversal
       X - IKE Extended Authentication
       psk - Preshared key, rsig - RSA signature
       renc - RSA encryption

C-id  Local           Remote          I-VRF    Encr Hash Auth DH Lifetime Cap.
1     66.66.66.2      66.66.66.1               3des sha  psk  2  01:54:30 D
       Connection-id:Engine-id =  1:1(software)
"""

ISAKMP_SA_DETAIL_RSIG = ISAKMP_SA_DETAIL_PSK.replace("psk  2  01:54:30", "rsig 2  23:56:35")

ISAKMP_SA_DETAIL_HW = """\
Codes: C - IKE configuration mode, D - Dead Peer Detection
       K - Keepalives, N - NAT-traversal
       X - IKE Extended Authentication
       psk - Preshared key, rsig - RSA signature
       renc - RSA encryption

C-id  Local           Remote          I-VRF    Encr Hash Auth DH Lifetime Cap.
5     66.66.66.1      66.66.66.2               3des sha  rsig 2  23:59:01 D
       Connection-id:Engine-id =  5:2(hardware)
"""

ISAKMP_SA_12X = """\
dst             src             state          conn-id slot
66.66.66.1      66.66.66.2      QM_IDLE              5    0
"""

ENGINE_12X = """\
  ID Interface            IP-Address      State  Algorithm           Encrypt  Decrypt
5141 FastEthernet0/0      66.66.66.1      set    HMAC_SHA+3DES_56_C        0      104
5142 FastEthernet0/0      66.66.66.1      set    HMAC_SHA+3DES_56_C      104        0
"""

CA_CERTIFICATES = """\
Certificate
  Status: Available
  Certificate Serial Number: 04
  Certificate Usage: General Purpose
  Issuer:
    cn=ese-ios-ca
    ou=ESE
    o=Cisco Systems Inc
    l=Raleigh
    st=NC
  Subject:
    Name: ese-branch.ese.cisco.com
    hostname=ese-branch.ese.cisco.com
  Validity Date:
    start date: 11:40:03 EST Feb 3 2004
    end   date: 12:40:03 EDT Oct 14 2004
    renew date: 19:00:00 EST Dec 31 1969
  Associated Trustpoints: ese-ios-ca

CA Certificate
  Status: Available
  Certificate Serial Number: 01
  Certificate Usage: Signature
  Issuer:
    cn=ese-ios-ca
    ou=ESE
    o=Cisco Systems Inc
    l=Raleigh
    st=NC
  Subject:
    cn=ese-ios-ca
    ou=ESE
    o=Cisco Systems Inc
    l=Raleigh
    st=NC
  Validity Date:
    start date: 09:58:20 EST Jan 30 2004
    end   date: 10:58:20 EDT Jun 21 2005
  Associated Trustpoints: ese-ios-ca
"""

PKI_SERVER_123T = """\
Certificate Server status: enabled, configured
Granting mode is: manual
Last certificate issued serial number: 0x1
CA certificate expiration timer: 10:58:20 EDT Jun 21 2005
CRL NextUpdate timer: 09:58:26 EST Jan 31 2004
Current storage dir: nvram:
Database Level: Names - subject name data written as <serialnum>.cnm
"""

INFO_REQUESTS_PENDING = """\
Enrollment Request Database:

ReqID  State      Fingerprint                      SubjectName
--------------------------------------------------------------
1      pending    93453F440CEA2DB76BB826DDC58C8949 hostname=ese-cryagg.ese.cisco.com
"""

INFO_REQUESTS_TERMINAL = """\
Enrollment Request Database:

ReqID  State      Fingerprint                      SubjectName
--------------------------------------------------------------
3      pending    D3EB83CEB0C8E2C0DA25EE42DB0155FC
"""

INFO_CRL_EMPTY = """\
Certificate Revocation List:
Issuer: cn=ese-ios-ca,ou=ESE,o=Cisco Systems Inc,l=Raleigh,st=NC
This Update: 09:58:36 EST Feb 2 2004
Next Update: 09:58:36 EST Feb 3 2004
Number of CRL entries: 0
CRL size: 300 bytes
"""

INFO_CRL_REVOKED = """\
Certificate Revocation List:
Issuer: cn=ese-ios-ca,ou=ESE,o=Cisco Systems Inc,l=Raleigh,st=NC
This Update: 17:31:05 EST Feb 8 2004
Next Update: 17:31:05 EST Feb 9 2004
Number of CRL entries: 3
CRL size: 362 bytes
Revoked Certificates:
 Serial Number: 0x03
 Revocation Date: 14:31:24 EST Feb 2 2004
 Serial Number: 0x05
 Revocation Date: 17:19:20 EST Feb 5 2004
 Serial Number: 0x04
 Revocation Date: 17:30:56 EST Feb 5 2004
"""

CA_CRLS = """\
CRL Issuer Name:
    cn=ese-ios-ca,ou=ESE,o=Cisco Systems Inc,l=Raleigh,st=NC
    LastUpdate: 09:58:36 EST Feb 2 2004
    NextUpdate: 09:58:36 EST Feb 3 2004
    Retrieved from CRL Distribution Point:
      ** CDP Not Published - Retrieved via SCEP
"""

CA_TIMERS = """\
PKI Timers
|175d14:11:34.104
  |175d14:11:34.104  RENEW ese-ios-ca
"""

MYPUBKEY_RSA = """\
% Key pair was generated at: 09:28:16 EST Jan 30 2004
Key name: ese-ios-ca
 Usage: General Purpose Key
 Key is exportable.
 Key Data:
  30819F30 0D06092A 864886F7 0D010101 05000381 8D003081 89028181 00AF2198
  C56F1A8F 5AC501FF ADFB1489 1F503F91 CA3C3FA3 9FB2C150 FFCBF815 2AA73060
  77020301 0001
% Key pair was generated at: 09:28:17 EST Jan 30 2004
Key name: ese-ios-ca.server
 Usage: Encryption Key
 Key is exportable.
 Key Data:
  307C300D 06092A86 4886F70D 01010105 00036B00 30680261 0096456A 01AEC6A5
  3ABF260F 5C4498ED 20E76948 9BC2A360 1C799F8C 1B518DD8 D9020301 0001
"""

DIR_NVRAM = """\
Directory of nvram:/

   50  -rw-        2148                    <no date>  startup-config
   51  ----        1924                    <no date>  private-config
    1  -rw-           0                    <no date>  ifIndex-table
    2  ----          12                    <no date>  persistent-data
    3  -rw-         272                    <no date>  ese-ios-ca.pub
    4  -rw-         963                    <no date>  ese-ios-ca.prv
    5  -rw-         112                    <no date>  1.cnm
    6  -rw-          32                    <no date>  ese-ios-ca.ser
    7  -rw-         300                    <no date>  ese-ios-ca.crl
    8  -rw-         675                    <no date>  ese-ios-ca#6101CA.cer

57336 bytes total (43574 bytes free)
"""

MORE_CNM = """\
subjectname_str = cn=ese-ios-ca,ou=ESE,o=Cisco Systems Inc,l=Raleigh,st=NC
expiration = 10:58:20 EDT Jun 21 2005
"""

SHOW_LOG_BRANCH = """\
Syslog logging: enabled (0 messages dropped, 1 messages rate-limited,
                0 flushes, 0 overruns, xml disabled, filtering disabled)
    Console logging: level debugging, 58 messages logged, xml disabled,
                     filtering disabled
    Monitor logging: level debugging, 0 messages logged, xml disabled,
                     filtering disabled
    Buffer logging: level debugging, 58 messages logged, xml disabled,
                    filtering disabled
    Logging Exception size (4096 bytes)
    Count and timestamp logging messages: disabled
    Trap logging: level informational, 63 message lines logged

Log Buffer (4096 bytes):
.Feb  5 07:50:31.071: %CRYPTO-5-IKMP_INVAL_CERT: Certificate received from
66.66.66.1 is bad: CA request failed!
.Feb  5 07:50:31.071: %CRYPTO-4-IKMP_BAD_MESSAGE: IKE message from 66.66.66.1
failed its sanity check or is malformed
.Feb  5 07:50:31.091: %CRYPTO-6-IKMP_MODE_FAILURE: Processing of Informational
mode failed with peer at 66.66.66.1
"""

CLOCKS = (
    ("14:33:51.103 EST Thu Feb 5 2004", "", "14:33:51.103", "EST", "Thu Feb 5 2004"),
    (".02:49:05.799 EST Mon Feb 5 2035", ".", "02:49:05.799", "EST", "Mon Feb 5 2035"),
    ("*10:22:10.625 UTC Thu May 23 2024", "*", "10:22:10.625", "UTC", "Thu May 23 2024"),
)

PING_REPEAT = """\
Type escape sequence to abort.
Sending 15, 100-byte ICMP Echos to 10.59.138.12, timeout is 2 seconds:
Packet sent with a source address of 10.113.0.1
....!!!!!!!!!!!
Success rate is 73 percent (11/15), round-trip min/avg/max = 4/5/8 ms
"""

PING_FAIL = """\
Type escape sequence to abort.
Sending 100, 100-byte ICMP Echos to 10.59.138.13, timeout is 2 seconds:
Packet sent with a source address of 10.113.0.1
......................................................................
..............................
Success rate is 0 percent (0/100)
"""

AUTHENTICATE_12X = """\
Certificate has the following attributes:
Fingerprint: 9D8D787D 574D2955 CA666B2B 22F3C31A
% Do you accept this certificate? [yes/no]: yes
Trustpoint CA certificate accepted.
"""

AUTHENTICATE_15X = """\
Certificate has the following attributes:
       Fingerprint MD5: 9D8D787D 574D2955 CA666B2B 22F3C31A
      Fingerprint SHA1: 2A1C3B4D 5E6F7081 92A3B4C5 D6E7F809 1A2B3C4D

% Do you accept this certificate? [yes/no]: yes
Trustpoint CA certificate accepted.
"""

ENROLL_SCEP = """\
%
% Start certificate enrollment ..
% Create a challenge password. You will need to verbally provide this
   password to the CA Administrator in order to revoke your certificate.
   For security reasons your password will not be saved in the configuration.
   Please make a note of it.

Password:
Re-enter password:

% The subject name in the certificate will include: ese-cryagg.ese.cisco.com
% Include the router serial number in the subject name? [yes/no]: no
% Include an IP address in the subject name? [no]: no
Request certificate from CA? [yes/no]: yes
% Certificate request sent to Certificate Authority
% The 'show crypto pki certificate verbose ese-ios-ca' command will show the fingerprint.

Certificate Request Fingerprint MD5: 93453F44 0CEA2DB7 6BB826DD C58C8949
Certificate Request Fingerprint SHA1: 0A1B2C3D 4E5F6071 8293A4B5 C6D7E8F9 0A1B2C3D
"""

CSR_B64 = (
    "MIIBiTCB8wIBADApMScwJQYJKoZIhvcNAQkCFhhlc2UtYnJhbmNoLmVzZS5jaXNj",
    "by5jb20wgZ8wDQYJKoZIhvcNAQEBBQADgY0AMIGJAoGBAL2yKsahG2BtSIYlfKFk",
    "yGUGKth1V6dRAcw8jw==",
)

ENROLL_TERMINAL = f"""\
% Start certificate enrollment ..

% The subject name in the certificate will include: ese-branch.ese.cisco.com
% Include the router serial number in the subject name? [yes/no]: no
% Include an IP address in the subject name? [no]: no
Display Certificate Request to terminal? [yes/no]: yes
Certificate Request follows:

{CSR_B64[0]}
{CSR_B64[1]}
{CSR_B64[2]}

---End - This line not part of the certificate request---

Redisplay enrollment request? [yes/no]: no
"""

REQUEST_PKCS10 = """\
% Enter Base64 encoded or PEM formatted PKCS10 enrollment request.
% End with a blank line or "quit" on a line by itself.
quit
% Enrollment request pending, reqId=3
"""

GRANTED_B64 = (
    "MIICNTCCAZ6gAwIBAgIBBDANBgkqhkiG9w0BAQQFADBjMQwwCgYDVQQIEwMgTkMx",
    "ETAPBgNVBAcTCCBSYWxlaWdoMRswGQYDVQQKExIgQ2lzY28gU3lzdGVtcyBJbmMx",
    "j4Gcye73vLKPMczz42Q8HxJaPKcZGUYNn8xMyhrINjCyzkLXKjgczgY=",
)

GRANT_TERMINAL = "% Granted certificate:\n" + "\n".join(GRANTED_B64) + "\n"

IMPORT_OK = """\
% The fully-qualified domain name in the certificate will be: ese-branch.ese.cisco.com

Enter the base 64 encoded certificate.
End with a blank line or the word "quit" on a line by itself
quit
% Router Certificate successfully imported
"""
