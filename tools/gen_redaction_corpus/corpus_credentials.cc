// Corpus lines for the redactor's credentials rules (src/privacy/rules_credentials.cc):
// passwords as people type them in shells, configs, connection strings, URLs,
// SQL, pipes and chat (several languages), PINs, HTTP Basic credentials, and
// their look-alikes (everyday -p flags, placeholders, references, code that
// handles passwords, prose about passwords, GPIO pins).
//
// Built from the forms' definitions, not from the redactor: passwords are
// quoted or percent-encoded the way the context requires (a shell needs
// quotes around '!' and '$', a URL needs %40 for '@'), Basic credentials are
// real base64 of "user:password".
#include "gen_redaction_corpus/corpus_internal.h"

namespace sealtrace::corpus {
namespace {

using V = std::vector<std::string>;

std::string User(Rng& r) {
  static const V k = {"alice", "bob",   "admin", "deploy", "root",   "svc_backup", "jdoe",
                      "app",   "maria", "ops",   "ci-bot", "webapp", "postgres",   "sa"};
  return r.Pick(k);
}
std::string Host(Rng& r) {
  static const V k = {"db01",          "localhost",    "10.0.3.17",      "db.internal",
                      "pg-primary",    "192.168.1.20", "build-02",       "mysql.prod.lan",
                      "srv-files",     "nas",          "redis-cache",    "git.example.com",
                      "api.corp.test", "rabbitmq",     "ldap.corp.test", "10.20.0.5"};
  return r.Pick(k);
}
std::string Db(Rng& r) {
  static const V k = {"app", "inventory", "shop_prod", "analytics", "wiki", "crm", "billing"};
  return r.Pick(k);
}
std::string Domain(Rng& r) {
  static const V k = {"CORP", "ACME", "WORKGROUP", "HQ"};
  return r.Pick(k);
}

// Passwords that need no quoting in a shell, a URL or a config value.
std::string PlainPw(Rng& r) {
  static const V kWords = {"Sommer", "tiger", "Maple", "orange", "Falcon", "zebra",
                           "Winter", "coffee", "Rocket", "Blue",  "hunter", "Kiwi"};
  switch (r.Below(4)) {
    case 0:
      return r.Pick(kWords) + D(r, r.Range(2, 4));
    case 1:
      return Mixed(r, kAlnum, r.Range(8, 20));
    case 2:
      return r.Pick(kWords) + "_" + D(r, 2) + r.Pick(kWords);
    default:
      return r.Pick(kWords) + std::string(1, "@%+=.-_"[r.Below(7)]) + D(r, r.Range(2, 4));
  }
}

// A password with shell-special characters, to be single-quoted.
std::string SymbolPw(Rng& r) {
  static const V kWords = {"Sunny", "tiger", "Maple", "Falcon", "Winter", "coffee"};
  // Symbols people use; no trailing '.', ',', '?', ';' (a reader could not
  // tell them from punctuation either).
  static const std::string kSym = "!$&*#~^%@";
  switch (r.Below(3)) {
    case 0:
      return r.Pick(kWords) + D(r, r.Range(2, 4)) + kSym[r.Below(kSym.size())];
    case 1:
      return std::string(1, kSym[r.Below(kSym.size())]) + r.Pick(kWords) + D(r, 2);
    default:
      return Mixed(r, "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789!$&*#?;()",
                   r.Range(10, 18)) + D(r, 1);
  }
}

// A password as written in a shell: bare, or quoted when it needs it.
// Returns the text to put in the template; *label_in is the password itself
// and *prefix_len its offset inside the returned text.
struct Shell {
  std::string text;  // as typed (may include quotes)
  std::string pw;    // the secret
  size_t off = 0;    // offset of pw in text
};
Shell ShellPw(Rng& r) {
  Shell s;
  if (r.Chance(0.6)) {
    s.pw = PlainPw(r);
    if (r.Chance(0.3)) {
      s.text = "'" + s.pw + "'";
      s.off = 1;
    } else if (r.Chance(0.2)) {
      s.text = "\"" + s.pw + "\"";
      s.off = 1;
    } else {
      s.text = s.pw;
    }
  } else {
    s.pw = SymbolPw(r);
    s.text = "'" + s.pw + "'";
    s.off = 1;
  }
  return s;
}

std::string PercentEncode(const std::string& pw) {
  std::string o;
  static const char* hex = "0123456789ABCDEF";
  for (unsigned char c : pw) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~' || c == '!' || c == '*') {
      o.push_back(static_cast<char>(c));
    } else {
      o.push_back('%');
      o.push_back(hex[c >> 4]);
      o.push_back(hex[c & 15]);
    }
  }
  return o;
}

std::string Base64(const std::string& in) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kB64[(acc >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(kB64[(acc << (6 - bits)) & 63]);
  while (out.size() % 4) out.push_back('=');
  return out;
}

// Emits `pre` + secret + `post` where the secret lies at [off, off+len) of
// `shown` (shown is what is typed in place of the secret: with quotes).
void EmitAround(Gen& g, const std::string& family, const std::string& pre, const Shell& s,
                const std::string& post, const std::string& kind = "password") {
  std::string tmpl = pre + s.text.substr(0, s.off) + "{}" + s.text.substr(s.off + s.pw.size()) +
                     post;
  g.Emit(family, tmpl, s.pw, kind);
}

std::string Pin(Rng& r) {
  size_t n = r.Chance(0.6) ? 4 : r.Chance(0.6) ? 6 : r.Range(5, 8);
  return D(r, n);
}

void CommandLinePasswords(Gen& g) {
  Rng& r = g.r;
  Shell s = ShellPw(r);
  std::string u = User(r), h = Host(r), db = Db(r);
  const std::string f = "pos:password_cli";
  switch (r.Below(34)) {
    case 0:
      return EmitAround(g, f, "mysql -u " + u + " -p", s, " " + db);
    case 1:
      return EmitAround(g, f, "mysqldump -u" + u + " -p", s,
                        " --single-transaction " + db + " > " + db + ".sql");
    case 2:
      return EmitAround(g, f, "mysql -h " + h + " -P 3306 -u root -p", s, "");
    case 3:
      return EmitAround(g, f, "docker exec -it mariadb mysql -uroot -p", s, " -e 'show databases'");
    case 4:
      return EmitAround(g, f, "mysqladmin -u root -p", s, " status");
    case 5:
      return EmitAround(g, f, "sshpass -p ", s, " ssh -o StrictHostKeyChecking=no " + u + "@" + h);
    case 6:
      return EmitAround(g, f, "sshpass -p", s, " rsync -az dist/ " + u + "@" + h + ":/srv/www/");
    case 7:
      return EmitAround(g, f, "docker login -u " + u + " -p ", s, " registry.gitlab.com");
    case 8:
      return EmitAround(g, f, "docker login --username " + u + " --password ", s, " ghcr.io");
    case 9:
      return EmitAround(g, f, "podman login -u " + u + " --password=", s, " quay.io");
    case 10:
      return EmitAround(g, f, "redis-cli -h " + h + " -p 6379 -a ", s, " ping");
    case 11:
      return EmitAround(g, f, "curl -u " + u + ":", s, " https://" + h + "/api/v1/status");
    case 12:
      return EmitAround(g, f, "curl -s --user " + u + ":", s, " -X POST https://" + h + "/hooks");
    case 13:
      return EmitAround(g, f, "wget --user=" + u + " --password=", s,
                        " https://" + h + "/backup.tar.gz");
    case 14:
      return EmitAround(g, f, "htpasswd -b /etc/nginx/.htpasswd " + u + " ", s, "");
    case 15:
      return EmitAround(g, f, "htpasswd -nbB " + u + " ", s, " >> auth/htpasswd");
    case 16:
      return g.Emit(f, "smbclient //" + h + "/share -U " + u + "%{}", PlainPw(r), "password");
    case 17:
      return g.Emit(f, "net use Z: \\\\" + h + "\\public /user:" + Domain(r) + "\\" + u + " {}",
                    PlainPw(r), "password");
    case 18:
      return g.Emit(f, "net use \\\\" + h + "\\ipc$ {} /user:" + u, PlainPw(r), "password");
    case 19:
      return g.Emit(f, "net user " + u + " {} /add", PlainPw(r), "password");
    case 20:
      return EmitAround(g, f, "sqlcmd -S " + h + " -U sa -P ", s, " -Q \"SELECT @@VERSION\"");
    case 21:
      return EmitAround(g, f, "ldapsearch -x -H ldap://" + h + " -D cn=admin,dc=corp,dc=test -w ",
                        s, " -b dc=corp,dc=test");
    case 22:
      return EmitAround(g, f, "mongosh -u " + u + " -p ", s, " --authenticationDatabase admin");
    case 23:
      return EmitAround(g, f, "7z x -p", s, " backup-2024.7z");
    case 24:
      return EmitAround(g, f, "zip -r -P ", s, " notes.zip notes/");
    case 25:
      return g.Emit(f, "openssl pkcs12 -export -in cert.pem -inkey key.pem -out cert.p12 -passout pass:{}",
                    PlainPw(r), "password");
    case 26:
      return EmitAround(g, f, "keytool -genkeypair -alias app -keystore app.jks -storepass ", s,
                        " -validity 365");
    case 27:
      return g.Emit(f, "xfreerdp /v:" + h + " /u:" + u + " /p:{} /cert:ignore", PlainPw(r),
                    "password");
    case 28:
      return g.Emit(f, "plink -ssh " + u + "@" + h + " -pw {} uptime", PlainPw(r), "password");
    case 29:
      return g.Emit(f, "sqlplus " + u + "/{}@ORCL", Mixed(r, kAlnum, r.Range(8, 14)), "password");
    case 30:
      return EmitAround(g, f, "ipmitool -I lanplus -H " + h + " -U ADMIN -P ", s, " power status");
    case 31:
      return EmitAround(g, f, "ConvertTo-SecureString ", s, " -AsPlainText -Force");
    case 32:
      return EmitAround(g, f, "mosquitto_pub -h " + h + " -u " + u + " -P ", s,
                        " -t sensors/temp -m 21.5");
    default:
      return EmitAround(g, f, "openssl passwd -6 ", s, "");
  }
}

void EnvAndConfigPasswords(Gen& g) {
  Rng& r = g.r;
  std::string pw = PlainPw(r), u = User(r), h = Host(r), db = Db(r);
  Shell s = ShellPw(r);
  const std::string f = "pos:password_config";
  static const V kVar = {"DB_PASSWORD",      "POSTGRES_PASSWORD", "MYSQL_ROOT_PASSWORD",
                         "ADMIN_PASS",       "SMTP_PASS",         "REDIS_PASSWORD",
                         "LDAP_BIND_PW",     "MYSQL_PWD",         "PGPASSWORD",
                         "RABBITMQ_DEFAULT_PASS", "APP_DB_PASSWD", "SA_PASSWORD",
                         "KEYSTORE_PASSWORD", "GRAFANA_ADMIN_PASSWORD", "WIFI_PSK"};
  std::string var = r.Pick(kVar);
  switch (r.Below(26)) {
    case 0:
      return EmitAround(g, f, "export " + var + "=", s, "");
    case 1:
      return EmitAround(g, f, "PGPASSWORD=", s, " psql -h " + h + " -U " + u + " " + db);
    case 2:
      return EmitAround(g, f, "MYSQL_PWD=", s, " mysql -u root -e 'select 1'");
    case 3:
      return g.Emit(f, "docker run -d -e " + var + "={} -p 5432:5432 postgres:16", pw, "password");
    case 4:
      return g.Emit(f, "set " + var + "={}", pw, "password");
    case 5:
      return g.Emit(f, "$env:" + var + " = \"{}\"", pw, "password");
    case 6:
      return g.Emit(f, "ENV " + var + "={}", pw, "password");
    case 7:
      return g.Emit(f, "      - " + var + "={}", pw, "password");
    case 8:
      return g.Emit(f, "    " + var + ": {}", pw, "password");
    case 9:
      return g.Emit(f, "  password: {}", pw, "password");
    case 10:
      return g.Emit(f, "db_password: \"{}\"", pw, "password");
    case 11:
      return g.Emit(f, "  \"password\": \"{}\",", pw, "password");
    case 12:
      return g.Emit(f, "spring.datasource.password={}", pw, "password");
    case 13:
      return g.Emit(f, "password = {}", pw, "password");
    case 14:
      return g.Emit(f, h + " ansible_user=" + u + " ansible_become_pass={}", pw, "password");
    case 15:
      return g.Emit(f, "dbPassword: '{}'", pw, "password");
    case 16:
      return g.Emit(f, "<password>{}</password>", pw, "password");
    case 17:
      return g.Emit(f, "requirepass {}", pw, "password");
    case 18:
      return g.Emit(f, "\tpsk=\"{}\"", pw, "password");
    case 19:
      return g.Emit(f, "wpa_passphrase={}", pw, "password");
    case 20:
      return g.Emit(f, "machine " + h + " login " + u + " password {}", pw, "password");
    case 21:
      return g.Emit(f, "<add key=\"DbPassword\" value=\"{}\" />", pw, "password");
    case 22:
      return g.Emit(f, "kubectl create secret generic db --from-literal=password={}", pw,
                    "password");
    case 23:
      return g.Emit(f, "helm install pg bitnami/postgresql --set auth.postgresPassword={}", pw,
                    "password");
    case 24:
      return g.Emit(f, "terraform apply -var 'admin_password={}'", pw, "password");
    default:
      return g.Emit(f, "WIFI:T:WPA;S:HomeNet;P:{};;", pw, "password");
  }
}

void UrlPasswords(Gen& g) {
  Rng& r = g.r;
  std::string pw = r.Chance(0.7) ? PlainPw(r) : PercentEncode(SymbolPw(r));
  std::string u = User(r), db = Db(r);
  static const V kHost = {"localhost", "db:5432", "pg-primary:5432", "127.0.0.1", "rabbit:5672",
                          "10.0.3.17:3306", "cache:6379", "mongo-0:27017"};
  std::string h = r.Pick(kHost);
  const std::string f = "pos:password_url";
  switch (r.Below(10)) {
    case 0:
      return g.Emit(f, "psql postgresql://" + u + ":{}@" + h + "/" + db, pw, "password");
    case 1:
      return g.Emit(f, "DATABASE_URL=postgres://" + u + ":{}@" + h + "/" + db + "?sslmode=disable",
                    pw, "password");
    case 2:
      return g.Emit(f, "mysql://" + u + ":{}@" + h + "/" + db, pw, "password");
    case 3:
      return g.Emit(f, "redis://:{}@" + h + "/0", pw, "password");
    case 4:
      return g.Emit(f, "amqp://" + u + ":{}@" + h + "/vhost", pw, "password");
    case 5:
      return g.Emit(f, "git clone https://" + u + ":{}@git.example.com/team/app.git", pw,
                    "password");
    case 6:
      return g.Emit(f, "export https_proxy=http://" + u + ":{}@proxy.corp.test:3128", pw,
                    "password");
    case 7:
      return g.Emit(f, "mongodb://" + u + ":{}@" + h + "/?authSource=admin", pw, "password");
    case 8:
      return g.Emit(f, "ftp://" + u + ":{}@" + h + "/pub/", pw, "password");
    default:
      return g.Emit(f, "spring.datasource.url=jdbc:postgresql://" + h + "/" + db + "?user=" + u +
                           "&password={}&ssl=true",
                    pw, "password");
  }
}

void SqlAndConnectionStringPasswords(Gen& g) {
  Rng& r = g.r;
  std::string pw = r.Chance(0.7) ? PlainPw(r) : SymbolPw(r);
  // SQL literals and connection strings need no ' or ; inside.
  for (char& c : pw)
    if (c == '\'' || c == ';' || c == '"' || c == '{' || c == '}') c = '9';
  std::string u = User(r), h = Host(r), db = Db(r);
  const std::string f = "pos:password_sql";
  switch (r.Below(14)) {
    case 0:
      return g.Emit(f, "CREATE USER '" + u + "'@'localhost' IDENTIFIED BY '{}';", pw, "password");
    case 1:
      return g.Emit(f,
                    "ALTER USER '" + u + "'@'%' IDENTIFIED WITH mysql_native_password BY '{}';",
                    pw, "password");
    case 2:
      return g.Emit(f, "CREATE ROLE " + u + " WITH LOGIN PASSWORD '{}';", pw, "password");
    case 3:
      return g.Emit(f, "ALTER USER " + u + " WITH ENCRYPTED PASSWORD '{}';", pw, "password");
    case 4:
      return g.Emit(f, "CREATE LOGIN " + u + " WITH PASSWORD = '{}', CHECK_POLICY = OFF;", pw,
                    "password");
    case 5:
      return g.Emit(f, "SET PASSWORD FOR '" + u + "'@'localhost' = '{}';", pw, "password");
    case 6:
      return g.Emit(f, "GRANT ALL PRIVILEGES ON " + db + ".* TO '" + u + "'@'%' IDENTIFIED BY '{}';",
                    pw, "password");
    case 7:
      return g.Emit(f, "create user " + u + " identified by {};", Mixed(r, kAlnum, 10), "password");
    case 8:
      return g.Emit(f, "Server=" + h + ";Database=" + db + ";User Id=" + u + ";Password={};", pw,
                    "password");
    case 9:
      return g.Emit(f,
                    "Data Source=" + h + ";Initial Catalog=" + db + ";User ID=sa;Password={};Encrypt=True",
                    pw, "password");
    case 10:
      return g.Emit(f, "Host=" + h + ";Username=" + u + ";Password={};Database=" + db, pw,
                    "password");
    case 11:
      return g.Emit(f, "DRIVER={ODBC Driver 18 for SQL Server};SERVER=" + h + ";UID=" + u + ";PWD={};",
                    pw, "password");
    case 12:
      return g.Emit(f, "jdbc:sqlserver://" + h + ";databaseName=" + db + ";user=" + u + ";password={};",
                    pw, "password");
    default:
      return g.Emit(f, "requests.get(url, auth=('" + u + "', '{}'))", pw, "password");
  }
}

void PipedPasswords(Gen& g) {
  Rng& r = g.r;
  Shell s = ShellPw(r);
  std::string u = User(r);
  const std::string f = "pos:password_pipe";
  switch (r.Below(9)) {
    case 0:
      return EmitAround(g, f, "echo ", s, " | sudo -S apt-get update");
    case 1:
      return EmitAround(g, f, "echo ", s, " | sudo -S systemctl restart nginx");
    case 2: {
      std::string pw = PlainPw(r);
      return g.Emit(f, "printf '{}\\n' | sudo -S -k ls /root", pw, "password");
    }
    case 3:
      return EmitAround(g, f, "echo -n ", s, " | sudo --stdin true");
    case 4:
      return EmitAround(g, f, "echo ", s, " | passwd --stdin " + u);
    case 5:
      return g.Emit(f, "echo '" + u + ":{}' | chpasswd", PlainPw(r), "password");
    case 6:
      return g.Emit(f, "echo \"" + u + ":{}\" | sudo chpasswd", PlainPw(r), "password");
    case 7:
      return EmitAround(g, f, "sudo -S <<< ", s, " apt upgrade -y");
    default:
      return EmitAround(g, f, "echo ", s, " | docker login -u " + u + " --password-stdin ghcr.io");
  }
}

// Plain words people use as passwords (found only at the end of a sentence).
std::string WordPw(Rng& r) {
  static const V k = {"sunshine", "dragonfly", "pumpkin", "bluebell", "marmalade", "kangaroo",
                      "snowflake", "butterfly", "Liverpool", "Schmetterling"};
  return r.Pick(k);
}

void NaturalPasswords(Gen& g) {
  Rng& r = g.r;
  std::string pw = r.Chance(0.85) ? (r.Chance(0.5) ? PlainPw(r) : SymbolPw(r)) : WordPw(r);
  bool word = pw.find_first_of("0123456789!$&*#?;()<>|~^@%+=.-_") == std::string::npos;
  static const V kPhrase = {
      "my password is {}",
      "the password for the wifi is {}",
      "wifi password: {}",
      "the pw is {}",
      "password's {}",
      "new password is {}",
      "the guest network password is {}",
      "I changed my password to {}",
      "the password I use for the NAS is {}",
      "mot de passe : {}",
      "le mot de passe du wifi est {}",
      "mon mot de passe est {}",
      "mein Passwort ist {}",
      "Das WLAN-Passwort lautet {}",
      "das Passwort für den Router ist {}",
      "la contraseña es {}",
      "la contraseña del wifi es {}",
      "la password del wifi è {}",
      "a senha do wifi é {}",
      "het wachtwoord is {}",
      "hasło do wifi to {}",
      "lösenordet är {}",
      "passordet er {}",
      "Kennwort: {}",
      "пароль: {}",
      "my password is now {}",
      "password is \"{}\"",
      "use {} as the password",
  };
  static const V kAfter = {"", ".", "", " lol", " - don't share it", " (don't tell anyone)", "!",
                           " thanks"};
  std::string phrase = r.Pick(kPhrase);
  if (phrase == "use {} as the password" && word) phrase = "my password is {}";
  std::string after = word ? r.Pick(V{"", ".", ""}) : r.Pick(kAfter);
  if (!word && after == "!") after = "";
  std::string prefix = r.Pick(V{"", "", "fyi ", "ok so ", "Hi Tom, ", "btw "});
  g.Emit("pos:password_chat", prefix + phrase + after, pw, "password");
}

void Pins(Gen& g) {
  Rng& r = g.r;
  std::string pin = Pin(r);
  static const V kPhrase = {
      "the PIN is {}",     "PIN: {}",         "my pin is {}",           "PIN code {}",
      "pincode: {}",       "Geheimzahl {}",   "meine PIN ist {}",       "code PIN {}",
      "le code PIN est {}", "mi PIN es {}",    "el PIN de la tarjeta es {}", "passcode {}",
      "SIM PIN: {}",       "the door code is {}", "alarm code {}",      "PIN for my card is {}",
      "PIN-Code: {}",      "card pin = {}",   "the passcode is {}",     "Passcode: {}",
      "PIN number: {}",    "il PIN è {}",     "{} is my PIN",           "new PIN {}",
  };
  static const V kAfter = {"", ".", " thx", ", don't share it", " (bank card)", ""};
  std::string phrase = r.Pick(kPhrase);
  std::string prefix = r.Pick(V{"", "", "fyi ", "Hi, ", "note: "});
  g.Emit("pos:pin", prefix + phrase + r.Pick(kAfter), pin, "pin");
  if (r.Chance(0.15)) g.Emit("pos:pin", "PUK: {}", D(r, 8), "pin");
}

void BasicAuth(Gen& g) {
  Rng& r = g.r;
  std::string creds = User(r) + ":" + (r.Chance(0.5) ? PlainPw(r) : SymbolPw(r));
  std::string b64 = Base64(creds);
  static const V kForm = {
      "Authorization: Basic {}",
      "curl -H 'Authorization: Basic {}' https://api.example.com/v2/items",
      "curl -H \"authorization: basic {}\" http://localhost:8080/metrics",
      "Proxy-Authorization: Basic {}",
      "\"auth\": \"{}\"",
      "_auth={}",
      "headers = {'Authorization': 'Basic {}'}",
      "> Authorization: Basic {}",
  };
  g.Emit("pos:basic_auth", r.Pick(kForm), b64, "basic_auth");
}

}  // namespace

void CredentialPositives(Gen& g) {
  CommandLinePasswords(g);
  EnvAndConfigPasswords(g);
  UrlPasswords(g);
  SqlAndConnectionStringPasswords(g);
  PipedPasswords(g);
  NaturalPasswords(g);
  Pins(g);
  BasicAuth(g);
}

void CredentialNegatives(Gen& g) {
  Rng& r = g.r;
  std::string u = User(r), h = Host(r), db = Db(r);
  g.Neg("neg:cli_flags",
        r.Pick(V{
            "ps -p " + D(r, 4) + " -o pid,cmd",
            "ssh -p 2222 " + u + "@build-02",
            "docker run -d -p 8080:80 nginx:alpine",
            "mkdir -p ~/src/" + db + "/build",
            "cp -p config.yaml config.yaml.bak",
            "read -p \"Password: \" pw",
            "read -sp 'Enter password: ' PASS",
            "git add -p src/main.cc",
            "python -m http.server 8000",
            "mysql -u root -p",
            "mysql -u " + u + " -p " + db,
            "mysql -h " + h + " -P 3306 -u root -p",
            "kubectl port-forward svc/api 8080:80 -n dev",
            "nc -l -p 4444",
            "scp -P 2222 report.pdf " + u + "@nas:",
            "ssh-keygen -p -f ~/.ssh/id_ed25519",
            "git push -u origin main",
            "docker exec -u root:root web sh",
            "docker run --user 1000:1000 app",
            "sort -u names.txt | wc -l",
            "curl -u " + u + " https://" + h + "/api",
            "curl -u \"$API_USER:$API_PASS\" https://" + h + "/api",
            "echo \"$REGISTRY_PASSWORD\" | docker login -u " + u + " --password-stdin",
            "sshpass -e ssh " + h,
            "sshpass -f ~/.ssh/pw.txt ssh " + h,
            "htpasswd -c /etc/nginx/.htpasswd " + u,
            "net use Z: \\\\" + h + "\\share /persistent:yes",
            "net use * /delete /y",
            "smbclient -L //" + h + " -U " + u,
            "redis-cli -p 6379 ping",
            "passwd " + u,
            "sudo passwd -l " + u,
            "echo \"deploy done\" | sudo tee -a /var/log/deploy.log",
            "uname -a && ls -la",
            "grep -w password config.yaml",
            "tar -xzf backup.tar.gz -C /tmp",
            "sudo -u postgres psql -c 'select 1'",
            "mongosh -u admin -p --authenticationDatabase admin",
            "unzip -P \"$ZIP_PASS\" archive.zip",
        }));
  g.Neg("neg:cred_placeholders",
        r.Pick(V{
            "password: $PASSWORD",
            "password: ${DB_PASS}",
            "mysql -u root -p<password>",
            "docker login -u " + u + " -p $CI_REGISTRY_PASSWORD $CI_REGISTRY",
            "PASSWORD=<your-password>",
            "password: ****",
            "password: ********",
            "DB_PASSWORD=changeme",
            "password: \"{{ vault_db_password }}\"",
            "DB_PASSWORD=${DB_PASSWORD:-}",
            "export PGPASSWORD=$(cat ~/.pg_secret)",
            "password: !vault |",
            "IDENTIFIED BY '<password>';",
            "Password=%DB_PASS%;",
            "mysql -u root -pPASSWORD",
            "curl -u user:password https://example.com",
            "postgresql://app:<password>@db:5432/app",
            "mongodb://${MONGO_USER}:${MONGO_PASS}@mongo:27017",
            "PIN: ****",
            "PIN: XXXX",
            "Authorization: Basic <base64>",
            "Authorization: Basic $(echo -n user:pass | base64)",
            "Authorization: Basic ${BASIC_CREDS}",
            "password = \"\"",
            "password: null",
            "DB_PASS=",
            "echo $SUDO_PASS | sudo -S true",
            "sshpass -p \"$SSHPASS\" ssh " + h,
        }));
  g.Neg("neg:cred_code",
        r.Pick(V{
            "if password == \"\":",
            "if (password.length < 8) return false;",
            "def check_password(pwd, hashed):",
            "user.set_password(form.password.data)",
            "const pin = req.body.pin;",
            "if pin != stored_pin:",
            "pin_code = input('PIN: ')",
            "password_hash = bcrypt.hashpw(password, salt)",
            "<input type=\"password\" name=\"password\" id=\"pw\">",
            "authenticate(username=user, password=password)",
            "def login(user: str, password: str) -> bool:",
            "password = os.environ['DB_PASSWORD']",
            "password = os.getenv(\"DB_PASSWORD\")",
            "self.password = password",
            "user.password = hashed_password",
            "password: SecretStr = Field(...)",
            "let pass = document.getElementById('pw').value;",
            "$password = $_POST['password'];",
            "String password = request.getParameter(\"password\");",
            "pinMode(13, OUTPUT);",
            "digitalWrite(pin, HIGH);",
        }));
  g.Neg("neg:cred_prose",
        r.Pick(V{
            "the password is required",
            "password is incorrect",
            "my password is too short",
            "your password is expiring in 3 days",
            "the password must be at least 8 characters",
            "forgot my password again",
            "we changed the wifi password yesterday",
            "Password reset email sent",
            "is the password correct?",
            "the password is in the vault",
            "the password is stored in 1Password",
            "enter your PIN to continue",
            "PIN must be 4 digits",
            "wrong PIN entered 3 times",
            "your card PIN was blocked",
            "please pass the salt",
            "you need a pass to enter the building",
            "boarding pass for flight 447",
            "the passcode screen is annoying",
            "Basic income is a policy idea",
            "basic auth is enabled for /admin",
            "HTTP Basic authentication failed",
            "mot de passe oublié ?",
            "Passwort vergessen?",
            "la contraseña es incorrecta",
            "das Passwort ist falsch",
            "the password is case-sensitive",
            "send the password to Bob",
            "password manager is 1Password",
            "what is your password?",
            "this is the password",
        }));
  g.Neg("neg:pin_lookalike",
        r.Pick(V{
            "GPIO pin " + std::to_string(r.Range(2, 40)),
            "connect the LED to pin " + std::to_string(r.Range(2, 13)),
            "pin 2 and pin 3 are shorted",
            "pin: GPIO17",
            "pinned the 2024 release",
            "Pin count: 40",
            "PIN 2024-03-15 expired",
            "pin the version to 1.2.3",
            "pins 1-40 on the header",
            "order " + D(r, 4) + " shipped",
            "room " + D(r, 4) + " on floor 3",
            "error code " + D(r, 4),
            "spin 1200 rpm",
            "PIN header J" + std::to_string(r.Range(1, 9)) + " pin " + std::to_string(r.Range(1, 40)),
            "pin=" + D(r, 2),
        }));
  g.Neg("neg:url_nopass",
        r.Pick(V{
            "https://" + u + "@localhost:3000/",
            "ssh://git@gitlab:2222/team/app.git",
            "https://" + h + ":8443/admin",
            "postgres://" + u + "@localhost/" + db,
            "redis://localhost:6379/0",
            "https://user:${TOKEN}@localhost/x",
            "http://[::1]:8080/health",
            "git@github.com:org/repo.git",
            "https://example.com/@" + u + "/posts",
        }));
}

}  // namespace sealtrace::corpus
