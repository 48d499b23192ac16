// Per-form tests for src/privacy/rules_credentials.cc: passwords in command
// lines, environment variables, configs, connection strings, URLs, SQL, pipes
// and chat; PINs; HTTP Basic credentials. Each positive is checked with its
// exact span (what is redacted and what stays); everyday look-alikes must stay
// untouched.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "privacy/redactor.h"

namespace sealtrace::privacy {
namespace {

std::shared_ptr<const Redactor> R() {
  static auto r = [] {
    auto x = Redactor::Create();
    EXPECT_TRUE(x.ok()) << x.status();
    return *x;
  }();
  return r;
}

std::vector<Finding> ScanOk(std::string_view text) {
  auto f = R()->Scan(text);
  EXPECT_TRUE(f.ok()) << f.status();
  return f.ok() ? *f : std::vector<Finding>{};
}

std::string Describe(std::string_view text, const std::vector<Finding>& f) {
  std::string s = Redactor::Apply(text, f) + "  {";
  for (const auto& x : f)
    s += std::string(KindName(x.kind)) + ":" + std::to_string(x.begin) + "-" +
         std::to_string(x.end) + " ";
  return s + "}";
}

// `marked` holds each secret between [[ and ]]: the findings must be exactly
// those spans, all of `kind`, and nothing else in the line is touched.
void Exact(const char* kind, const std::string& marked) {
  std::string text;
  std::vector<Finding> want;
  Kind k;
  ASSERT_TRUE(KindFromName(kind, &k)) << kind;
  size_t i = 0;
  while (i < marked.size()) {
    size_t b = marked.find("[[", i);
    if (b == std::string::npos) {
      text += marked.substr(i);
      break;
    }
    size_t e = marked.find("]]", b);
    ASSERT_NE(e, std::string::npos) << marked;
    text += marked.substr(i, b - i);
    size_t fb = text.size();
    text += marked.substr(b + 2, e - b - 2);
    want.push_back({k, fb, text.size()});
    i = e + 2;
  }
  auto got = ScanOk(text);
  EXPECT_EQ(got, want) << "text: " << text << "\n got: " << Describe(text, got)
                       << "\nwant: " << Describe(text, want);
}

void Password(const std::string& marked) { Exact("password", marked); }
void Pin(const std::string& marked) { Exact("pin", marked); }
void Basic(const std::string& marked) { Exact("basic_auth", marked); }

void Clean(const std::string& text) {
  auto f = ScanOk(text);
  EXPECT_TRUE(f.empty()) << "false positive: " << Describe(text, f);
}

// --- command lines ----------------------------------------------------------------

TEST(CredentialsCli, MysqlFamilyAttachedPasswordOnly) {
  Password("mysql -u root -p[[S3cretPw]] shop");
  Password("mysql -uroot -p[[S3cretPw]] -h127.0.0.1");
  Password("mysqldump -u root -p'[[my pass!]]' --all-databases > all.sql");
  Password("mysql -h db -P 3306 -u app -p\"[[Tr0ub4dor]]\"");
  Password("docker exec -it db mysql -uroot -p[[r00tPw]] -e 'show databases'");
  Password("mariadb -u app -p[[Mar1aPw]] app");
  Password("mysql --user=root --password=[[Hunter22]] app");
  Password("mysql -u root --password='[[p@ss w0rd]]'");
  Password("mysqladmin -u root password [[NewRootPw]]");
  // -p alone prompts; with a space the next word is the database.
  Clean("mysql -u root -p");
  Clean("mysql -p shop");
  Clean("mysql -u root -p -h db shop");
  Clean("mysql --password shop");
  Clean("mysql -h db -P 3306 -u root -p");
  Clean("mysql -u root -p\"$MYSQL_PWD\"");
  Clean("mysql -uroot -p$(cat ~/.pw)");
  Clean("mysql -u root -p<password>");
  Clean("mysql -u root -pPASSWORD");
}

TEST(CredentialsCli, SshpassDockerRedisAndOthers) {
  Password("sshpass -p '[[Sup3r!pw]]' ssh -p 2222 bob@build-02");
  Password("sshpass -p[[S3cr3t]] scp notes.txt nas:");
  Password("docker login -u bob -p [[D0ckerPw]] registry.example.com");
  Password("docker login -u bob -p[[D0ckerPw]] registry.example.com");
  Password("docker login --username bob --password [[D0ckPass99]] ghcr.io");
  Password("docker login --password=[[D0ckPass99]] -u bob");
  Password("podman login -u bob -p '[[P0dman!]]' quay.io");
  Password("az login -u bob -p [[AzurePw1]]");
  Password("redis-cli -h 10.0.0.5 -p 6379 -a [[R3disPass]] ping");
  Password("sqlcmd -S db -U sa -P '[[SqlP4ss!]]' -Q 'select 1'");
  Password("ldapsearch -x -D cn=admin,dc=corp -w [[LdapPw1]] -b dc=corp");
  Password("mongosh -u admin -p [[M0ngoPw]] --authenticationDatabase admin");
  Password("7z x -p[[SevenZ1]] backup.7z");
  Password("zip -r -P [[ZipPw123]] notes.zip notes/");
  Password("unzip -P [[ZipPw123]] notes.zip");
  Password("mosquitto_pub -h broker -u dev -P [[MqttPw1]] -t t -m hi");
  Password("ipmitool -I lanplus -H 10.0.0.9 -U ADMIN -P [[Ipmi!pw]] power status");
  Password("ssh-keygen -t ed25519 -N '[[KeyPhrase1]]' -f key");
  Password("openssl enc -aes-256-cbc -k [[EncPass99]] -in f -out f.enc");
  Password("openssl pkcs12 -export -out a.p12 -passout pass:[[P12pass9]]");
  Password("keytool -importkeystore -srcstorepass [[StorePw1]] -deststorepass [[StorePw2]]");
  Password("plink -ssh bob@nas -pw [[PlinkPw1]] uptime");
  Password("xfreerdp /v:host /u:bob /p:[[RdpPass1]] /cert:ignore");
  Password("hydra -l admin -p [[Admin123]] ssh://10.0.0.5");
  Password("ncftp -u bob -p [[FtpPass1]] ftp.example.org");
  Password("svn checkout --username bob --password [[Svn!Pass]] https://svn/x");
  Password("aws rds create-db-instance --master-user-password [[RdsPass99]] --engine postgres");
  Password("Invoke-Sqlcmd -Username sa -Password \"[[P@ssw0rd1]]\"");
  Password("ConvertTo-SecureString \"[[PsPass1!]]\" -AsPlainText -Force");
  Password("New-LocalUser bob -Password (ConvertTo-SecureString '[[P@ss1234]]' -AsPlainText -Force)");
  Password("openssl passwd -6 [[OsslPw1]]");
  Password("mkpasswd -m sha-512 [[MkPw1234]]");
}

TEST(CredentialsCli, UserAndPasswordPairs) {
  Password("curl -u admin:[[Passw0rd!]] https://api.example.com");
  Password("curl -s --user alice:[[wonderland42]] https://x.test");
  Password("curl --user=alice:[[wonderland42]] https://x.test");
  Password("curl -uadmin:[[S3cret]] https://x.test");
  Password("curl -u 'admin:[[S3cret!x]]' https://x.test");
  Password("curl -u maria:'[[coffee00&]]' https://x.test");
  Password("http -a admin:[[Secret123]] GET example.org");
  Password("smbclient //srv/share -U bob%[[SmbPass1]]");
  Password("smbclient -U 'CORP\\bob%[[SmbPass1]]' //srv/c$");
  Password("lftp -u bob,[[FtpPw123]] ftp.example.org");
  Password("impacket-psexec corp/admin:[[Imp4cket!]]@10.0.0.5");
  Password("secretsdump.py CORP/admin:[[Imp4cket!]]@dc01");
  Password("sqlplus scott/[[tiger1]]@orcl");
  Password("expdp system/[[Oracle1]]@db schemas=hr");
  Clean("curl -u alice https://x.test");
  Clean("curl -u \"$API_USER:$API_PASS\" https://x.test");
  Clean("curl -u user:password https://x.test");
  Clean("docker run --user 1000:1000 app");
  Clean("docker exec -u root:root web sh");
  Clean("smbclient -L //srv -U bob");
  Clean("sqlplus / as sysdba");
}

TEST(CredentialsCli, PositionalForms) {
  Password("htpasswd -b /etc/nginx/.htpasswd alice [[S3cretHt]]");
  Password("htpasswd -bc .htpasswd alice '[[S3cret!Ht]]'");
  Password("htpasswd -nbB alice [[S3cretHt]]");
  Password("net use Z: \\\\srv\\share /user:CORP\\bob [[NetPass1!]]");
  Password("net use Z: \\\\srv\\share [[NetPass1!]] /user:bob");
  Password("C:\\Users\\bob> net user alice [[Welcome123]] /add");
  Password("rabbitmqctl add_user bob [[RabbitPw1]]");
  Clean("htpasswd -c /etc/nginx/.htpasswd alice");
  Clean("net use Z: \\\\srv\\share /persistent:yes");
  Clean("net use * /delete /y");
  Clean("net user alice /delete");
  Clean("the net user growth was 1234 this month");
}

TEST(CredentialsCli, PipesAndHereStrings) {
  Password("echo '[[S3cret!]]' | sudo -S apt update");
  Password("echo [[S3cretPw]] | sudo -S systemctl restart nginx");
  Password("printf '[[S3cret!]]\\n' | sudo -S -k true");
  Password("echo -n '[[S3cret!]]' | sudo --stdin true");
  Password("echo [[Sup3rPw]] | passwd --stdin bob");
  Password("yes '[[S3cret!]]' | passwd bob");
  Password("echo 'bob:[[Chp4ss!]]' | chpasswd");
  Password("echo \"bob:[[Chp4ss!]]\" | sudo chpasswd");
  Password("echo '[[a;b&c!9]]' | sudo -S ls");
  Password("echo '[[D0cker!]]' | docker login -u bob --password-stdin ghcr.io");
  Password("sudo -S <<< \"[[S3cret!]]\" apt update");
  Password("sudo -S <<< '[[(UA4s$ux!8]]' apt upgrade -y");
  Password("chpasswd <<< 'bob:[[Chp4ss!]]'");
  Clean("echo \"hello world\" | sudo tee /etc/motd");
  Clean("echo $SUDO_PASS | sudo -S true");
  Clean("echo \"$REGISTRY_PASSWORD\" | docker login -u bob --password-stdin");
  Clean("echo hi | passwd");
  Clean("cat notes.txt | sudo tee -a /var/log/x");
}

TEST(CredentialsCli, EverydayFlagsStayUntouched) {
  for (const char* s : {
           "ps -p 1234 -o pid,cmd",
           "ssh -p 2222 host",
           "ssh -p 2222 bob@build-02",
           "docker run -d -p 8080:80 nginx",
           "mkdir -p ~/src/app/build",
           "cp -p a.txt b.txt",
           "read -p \"Password: \" pw",
           "read -sp 'Enter password: ' PASS",
           "git add -p src/main.cc",
           "python -p",
           "kubectl port-forward -p 8080",
           "kubectl port-forward svc/api 8080:80 -n dev",
           "docker-compose -p myproject up",
           "npm run dev -- -p 3000",
           "java -jar app.jar -p 8080",
           "nc -l -p 4444",
           "scp -P 22 report.pdf nas:",
           "ssh-keygen -p -f ~/.ssh/id_ed25519",
           "git push -u origin main",
           "sort -u names.txt",
           "uname -a",
           "grep -w password config.yaml",
           "sudo -u postgres psql",
           "redis-cli -p 6379 ping",
           "curl -k https://localhost:8443",
           "sudo -k",
           "tar -xzf backup.tar.gz -C /tmp",
           "passwd bob",
           "sudo passwd -l bob",
           "echo Sup3rPw | passwd --stdin bob extra",  // see below: only the echo value
       }) {
    if (std::string(s).find("Sup3rPw") != std::string::npos) continue;
    Clean(s);
  }
  Password("echo [[Sup3rPw]] | passwd --stdin bob");  // "--stdin" is not a value
}

// --- environment and configuration ------------------------------------------------

TEST(CredentialsConfig, EnvironmentVariables) {
  Password("PGPASSWORD=[[pgsecret99]] psql -h db -U app");
  Password("MYSQL_PWD=[[abcdef1]] mysql");
  Password("export DB_PASSWORD=[[Tr0ub4dor]]");
  Password("export DB_PASSWORD='[[Tr0ub 4dor!]]'");
  Password("export ADMIN_PASS=[[hunter22]]");
  Password("export SMTP_PASSWD=[[smtpPw77]]");
  Password("export JWT_SECRET=[[shortsecret]]");
  Password("docker run -e MYSQL_ROOT_PASSWORD=[[my-secret-pw]] -d mysql:8");
  Password("set DB_PASS=[[WinPass1]]");
  Password("$env:DB_PASSWORD = \"[[PsEnv123]]\"");
  Password("ENV ADMIN_PASSWORD=[[DockerEnv1]]");
  Password("      - RABBITMQ_DEFAULT_PASS=[[rabbitPw9]]");
  Password("    MYSQL_PASSWORD: [[composePw1]]");
  Password("ansible_become_pass=[[AnsPw123]]");
  Password("wpa_passphrase=[[Sommer2024!]]");
  Password("\tpsk=\"[[Sommer2024!]]\"");
  // A long random *_SECRET is a generic secret, not a password.
  Exact("generic_secret", "export JWT_SECRET=[[9f8e7d6c5b4a39281706f5e4d3c2b1a0]]");
  // Not passwords: paths, words ending in "pass", references, placeholders.
  Clean("PWD=/home/alice/src");
  Clean("OLDPWD=/tmp");
  Clean("bypass=true");
  Clean("compass=north");
  Clean("surpass: 12345678");
  Clean("DB_PASSWORD=${DB_PASSWORD:-}");
  Clean("export PGPASSWORD=$(cat ~/.pg_secret)");
  Clean("DB_PASSWORD=changeme");
  Clean("PASSWORD=<your-password>");
  Clean("DB_PASS=");
  Clean("Password=%DB_PASS%;");
}

TEST(CredentialsConfig, FilesAndMarkup) {
  Password("password: [[hunter2]]");
  Password("  password: [[yamlPass1]]");
  Password("db_password: \"[[yamlpass1]]\"");
  Password("dbPassword: '[[camelPw1]]'");
  Password("{\"password\": \"[[jsonpass1]]\"}");
  Password("'PASSWORD': '[[DjangoPw1]]',");
  Password("spring.datasource.password=[[springPw1]]");
  Password("password = [[iniPass1]]");
  Password("password := \"[[GoPass123]]\"");
  Password("$password = '[[PhpPass1]]';");
  Password("define('DB_PASSWORD', '[[WpPass123]]');");
  Password("<password>[[XmlPass1]]</password>");
  Password("<add key=\"DbPassword\" value=\"[[AttrPw1!]]\" />");
  Password("machine api.example.com login bob password [[netrcpw]]");
  Password("default login anonymous password [[guest1]]");
  Password("requirepass [[R3disPw]]");
  Password("masterauth [[R3disPw]]");
  Password("WIFI:T:WPA;S:HomeNet;P:[[WifiPw123]];;");
  Password("requests.get(url, auth=('admin', '[[Adm1nPw!]]'))");
  Password("mount -t cifs //srv/share /mnt -o username=bob,password=[[S3cret9]],uid=1000");
  Password("nmap --script-args 'http.username=admin,http.password=[[NmapPw9]]'");
  Password("kubectl create secret generic db --from-literal=password=[[K8sPw123]]");
  Password("helm install pg bitnami/postgresql --set auth.postgresPassword=[[HelmPw1]]");
  Password("nmcli dev wifi connect HomeNet password [[sommerwind]]");
  Clean("password: $PASSWORD");
  Clean("password: ${DB_PASS}");
  Clean("password: \"{{ vault_db_password }}\"");
  Clean("password: !vault |");
  Clean("password: ENC[abc123]");
  Clean("password: ****");
  Clean("password: ********");
  Clean("password: changeme");
  Clean("password: null");
  Clean("password = \"\"");
  Clean("<password></password>");
  Clean("Type <password> then press enter");
  Clean("password: 1Password");
}

TEST(CredentialsConfig, ConnectionStrings) {
  Password("Server=db;Database=app;User Id=sa;Password=[[P@ssw0rd]];Encrypt=True;");
  Password("Data Source=db;Initial Catalog=crm;User ID=sa;Password=[[S3cret!]];");
  Password("Host=db;Username=app;Password=[[NpgPw123]];Database=app");
  Password("Driver={ODBC Driver 18};Server=x;Uid=sa;Pwd={[[p@ss;word]]};");
  Password("DRIVER={ODBC Driver 18 for SQL Server};SERVER=db;UID=sa;PWD=[[OdbcPw1]];");
  Password("jdbc:mysql://db:3306/app?user=bob&password=[[JdbcPw12]]&ssl=true");
  Password("jdbc:sqlserver://db;databaseName=crm;user=sa;password=[[MsJdbc1]];");
  Password("jdbc:oracle:thin:scott/[[tiger1]]@db:1521/orcl");
  Password("psql \"host=db user=app password=[[Xyz12345]] dbname=app\"");
}

TEST(CredentialsConfig, CodeThatHandlesPasswordsIsNotAPassword) {
  for (const char* s : {
           "if password == \"hunter22\":",
           "if (password.length < 8) return false;",
           "def check_password(pwd, hashed):",
           "def login(password: str, user: str):",
           "def login(password: SecretStr):",
           "password: SecretStr = Field(...)",
           "password = getpass.getpass()",
           "password = os.environ['DB_PASSWORD']",
           "os.environ['DB_PASSWORD']",
           "password = os.getenv(\"DB_PASSWORD\")",
           "password=$(cat /run/secrets/db)",
           "self.password = password",
           "user.password = hashed_pw",
           "$password = $_POST['password'];",
           "String password = request.getParameter(\"password\");",
           "let pass = document.getElementById('pw').value;",
           "user.set_password(form.password.data)",
           "password_hash = bcrypt.hashpw(password, salt)",
           "<input type=\"password\" name=\"password\">",
           "authenticate(username=user, password=password)",
           "const token = getToken(req);",
           "--- PASS: TestLoginWorks (0.00s)",
           "PASS: 15 tests",
           "pwd: command not found",
           "echo $PWD",
       })
    Clean(s);
}

// --- URLs, SQL, HTTP Basic ------------------------------------------------------------

TEST(CredentialsUrl, PasswordPartOnly) {
  Password("psql postgresql://app:[[PgPass77]]@localhost:5432/app");
  Password("DATABASE_URL=postgres://app:[[PgPass77]]@db:5432/app?sslmode=disable");
  Password("redis://:[[R3disPw]]@cache:6379/0");
  Password("amqp://guest:[[Rabb1t!]]@rabbit:5672/");
  Password("mongodb://admin:[[M0ngo%40pw]]@mongo-0:27017/?authSource=admin");
  Password("ftp://bob:[[FtpPw1]]@10.0.0.7/pub/");
  Password("http://bob:[[p@ss]]@proxy:3128");  // the last '@' ends the password
  // scheme://user@host, host:port, references and placeholders stay.
  Clean("https://bob@localhost:3000/");
  Clean("ssh://git@gitlab:2222/team/app.git");
  Clean("https://example.com:8443/admin");
  Clean("postgresql://app:<password>@db:5432/app");
  Clean("mongodb://${MONGO_USER}:${MONGO_PASS}@mongo:27017");
  Clean("https://user:${TOKEN}@localhost/x");
  Clean("http://user:password@localhost/");
  Clean("http://[::1]:8080/health");
  Clean("https://example.com/@bob/posts");
}

TEST(CredentialsUrl, DottedHostsStayVisible) {
  // The host after the userinfo's '@' is not an e-mail domain: only the
  // password is redacted, and it is labelled a password.
  Password("git clone https://bob:[[ghsecret99]]@git.example.com/org/repo.git");
  Password("postgres://app:[[hunter22]]@db.internal.example.com:5432/prod");
  Password("https://bob:[[p@ss]]@proxy.example.org:3128");
  Password("DSN=\"mysql://root:[[R00t.pw]]@10.1.2.3.nip.io/db\"");
  // A login name in a URL is not an address either.
  Clean("https://bob@git.example.com/org/repo.git");
  Clean("ssh://deploy@build.example.com:2222/srv");
  // Addresses elsewhere in or after a URL are still e-mail.
  Exact("email", "https://example.com/contact?to=[[alice@example.com]]");
  Exact("email", "see https://example.com/ or write to [[alice@example.com]]");
  Exact("email", "mailto:[[alice@example.com]]");
  Exact("email", "https://example.com?to=[[alice@example.com]]");
  Exact("email", "https://example.com#[[alice@example.com]]");
  Exact("email", "see https://example.com,[[alice@example.com]] or (https://x.org;[[bob@example.org]])");
}

TEST(CredentialsSql, IdentifiedByAndPassword) {
  Password("CREATE USER 'app'@'%' IDENTIFIED BY '[[Sql!Pass9]]';");
  Password("ALTER USER 'app'@'%' IDENTIFIED WITH mysql_native_password BY '[[Nat1ve!]]';");
  Password("GRANT ALL ON db.* TO 'u'@'%' IDENTIFIED BY '[[Gr4nt!]]';");
  Password("CREATE USER scott IDENTIFIED BY [[tiger99]];");
  Password("create user scott identified by \"[[Tig3r(x)]]\";");
  Password("ALTER ROLE app WITH PASSWORD '[[RolePass1]]';");
  Password("CREATE ROLE app WITH LOGIN ENCRYPTED PASSWORD '[[RolePass1]]' VALID UNTIL '2030-01-01';");
  Password("CREATE LOGIN app WITH PASSWORD = N'[[Mssql!234]]';");
  Password("SET PASSWORD FOR 'bob'@'localhost' = '[[SetPw123]]';");
  Password("SELECT PASSWORD('[[OldFn123]]');");
  Clean("IDENTIFIED BY '<password>';");
  Clean("ALTER USER app WITH PASSWORD NULL;");
  Clean("SELECT id, email FROM users WHERE id = 42;");
}

TEST(CredentialsBasicAuth, HeaderDecodesToUserColonPassword) {
  Basic("Authorization: Basic [[YWxhZGRpbjpvcGVuc2VzYW1l]]");
  Basic("curl -H \"Authorization: Basic [[dXNlcjpwYXNzd29yZDEyMw==]]\" https://x");
  Basic("authorization: basic [[Ym9iOmh1bnRlcjIy]]");
  Basic("Proxy-Authorization: Basic [[Ym9iOmh1bnRlcjIy]]");
  Basic("\"auth\": \"[[Ym9iOmh1bnRlcjIy]]\"");
  Basic("_auth=[[Ym9iOmh1bnRlcjIy]]");
  Clean("Basic idea is simple");
  Clean("Basic programming");
  Clean("HTTP Basic authentication failed");
  Clean("basic auth is enabled for /admin");
  Clean("auth: true");
  Clean("Authorization: Basic <base64>");
  Clean("Authorization: Basic $(echo -n user:pass | base64)");
  Clean("Authorization: Basic ${BASIC_CREDS}");
  Clean("WWW-Authenticate: Basic realm=\"admin\"");
  // A 40-byte value that decodes to user:password is Basic, not the AWS
  // secret key it is shaped like.
  Basic("Authorization: Basic [[YWxpY2U6czNjcmV0LXBhc3N3b3JkLWlzLWxvbmcx]]");
  // Base64 that does not decode to user:password (here "hello world").
  Clean("Authorization: Basic aGVsbG8gd29ybGQ=");
}

// --- natural language -------------------------------------------------------------

TEST(CredentialsChat, PasswordsInSentences) {
  Password("my password is [[hunter2]]");
  Password("the password for wifi is [[Sommer2024!]]");
  Password("the password for the guest network is [[Gast-2024]].");
  Password("pw is [[abc123xyz]]");
  Password("password's [[hunter22]]");
  Password("my password was [[sunshine]]");
  Password("The password is [[Sunshine]].");
  Password("the new password is [[Winter2025!]]");
  Password("my password is now [[Winter2025!]]");
  Password("password is \"[[correct horse]]\"");
  Password("the password I use is [[Bl4ckCat]]");
  Password("set the password to [[Hunter22]] please");
  Password("I changed my password to [[Hunter22]]");
  Password("[[hunter2x]] is my password");
  Password("use [[Sommer2024!]] as the password");
  Password("wifi password: [[Sommer2024!]]");
  Password("login: bob:[[hunter22]]");
  Password("credentials: admin / [[Adm1nPw!]]");
  Password("Username: bob Password: [[Hunter2]]");
  Password("Password for bob: [[hunter2]]");
  Password("Passwort für WLAN: [[Sommer2024]]");
  Password("wifi password - [[Sommer2024]]");
  Password("password -> [[abc123!]]");
  Password("user bob password [[hunter2]]");
}

TEST(CredentialsChat, OtherLanguages) {
  Password("mot de passe est [[Azerty123]]");
  Password("le mot de passe du wifi est [[Soleil2024]]");
  Password("mon mdp c'est [[Azerty!23]]");
  Password("mein Passwort ist [[Geheim123]]");
  Password("Das Passwort für das WLAN lautet [[Sommer2024!]]");
  Password("Passwort lautet: [[Geheim123]]");
  Password("Kennwort: [[Geheim!9]]");
  Password("la contraseña es [[Clave2024]]");
  Password("la contraseña del wifi es [[Playa2024]]");
  Password("la password del wifi è [[Mare2024!]]");
  Password("a senha do wifi é [[Praia2024]]");
  Password("het wachtwoord is [[Fiets123!]]");
  Password("lösenordet är [[Sommar2024]]");
  Password("passordet er [[Fjord2024]]");
  Password("salasana on [[Kesä2024!]]");
  Password("hasło do wifi to [[Lato2024!]]");
  Password("heslo je [[Leto2024]]");
  Password("пароль: [[Qwerty123!]]");
  Password("пароль от wifi: [[Zima2024]]");
  Password("密码是[[abc12345]]");
  Password("wifi密码是[[abc12345]]");
  Password("パスワードは [[Sakura2024]]");
  Password("비밀번호는 [[Seoul2024]]");
  Clean("das Passwort ist falsch");
  Clean("Passwort vergessen?");
  Clean("le mot de passe est incorrect");
  Clean("mot de passe oublié ?");
  Clean("la contraseña es incorrecta");
}

TEST(CredentialsChat, ProseAboutPasswordsStays) {
  for (const char* s : {
           "the password is required",
           "password is incorrect",
           "my password is too short",
           "my password is sunshine and it works",  // a plain word mid-sentence
           "the password is stored in the vault",
           "the password is case-sensitive",
           "password is at least 8 characters",
           "your password is expiring soon",
           "Your password has been reset",
           "password reset link sent to bob2024",
           "Password manager is 1Password",
           "the password you gave me is wrong",
           "send the password to bob",
           "is the password correct?",
           "what is your password",
           "this is the password",
           "the password field is empty",
           "passwords are hashed with bcrypt",
           "Password: Enter your password",
           "Password: Not set",
           "Passwort: (leer)",
           "password hint is my dog",
           "Forgot your password? Reset it here",
           "The password must be at least 8 characters long",
           "please pass the salt",
           "we need to pass this test",
           "you shall not pass",
           "The pass is valid until Friday",
           "boarding pass is 12A",
           "the token expired yesterday",
           "Is the password field required?",
           "password_required: true",
           "passwd:         files systemd",
           "/etc/passwd:root:x:0:0:root:/root:/bin/bash",
           "Password: 8-64 characters",
           "password: check your email",
           "password: same as last time",
           "PasswordAuthentication no",
           "Did you change the password to something stronger?",
           "I set the password to expire every 90 days",
           "the password for this account is managed by IT",
           "a password is like a toothbrush",
           "passwordless: true",
           "pass: true",
       })
    Clean(s);
}

// --- PINs ---------------------------------------------------------------------------

TEST(CredentialsPin, DigitsAfterAPinCue) {
  Pin("the PIN is [[4821]]");
  Pin("PIN: [[0000]]");  // decided: any 4-8 digits after a PIN cue, defaults too
  Pin("my pin is [[4821]]");
  Pin("PIN code [[4821]]");
  Pin("PIN-Code: [[4821]]");
  Pin("pincode: [[123456]]");
  Pin("Geheimzahl [[4821]]");
  Pin("meine PIN ist [[4821]]");
  Pin("code PIN [[4821]]");
  Pin("le code PIN est [[4821]]");
  Pin("mi PIN es [[4821]]");
  Pin("el PIN de la tarjeta es [[4821]]");
  Pin("il PIN è [[4821]]");
  Pin("passcode [[123456]]");
  Pin("the passcode for the door is [[2580]]");
  Pin("Passcode: [[987654]]");
  Pin("SIM PIN: [[1111]]");
  Pin("PUK: [[12345678]]");
  Pin("the door code is [[4821]]#");
  Pin("alarm code: [[1234]]");
  Pin("PIN for card 1234 is [[5678]]");
  Pin("pin #[[1234]]");
  Pin("PIN ([[1234]])");
  Pin("[[4821]] is my PIN");
  // An alphanumeric passcode is a password.
  Password("passcode: [[Abc123xyz]]");
}

TEST(CredentialsPin, LookAlikesStay) {
  for (const char* s : {
           "GPIO pin 13",
           "connect the LED to pin 4",
           "pin 2 and pin 3 are shorted",
           "pin: GPIO17",
           "pinned the 2024 release",
           "Pin count: 40",
           "PIN 2024-03-15 expired",
           "pin the version to 1.2.3",
           "my PIN changed in 2023",
           "PIN 123456789",
           "spin 1200 rpm",
           "PIN: ****",
           "PIN: XXXX",
           "enter your PIN to continue",
           "wrong PIN entered 3 times",
           "const pin = req.body.pin;",
           "pinMode(13, OUTPUT);",
       })
    Clean(s);
}

// --- engine properties ---------------------------------------------------------------

TEST(CredentialsEngine, RepeatedCandidatesStayLinear) {
  // Each credential pattern repeated over 1 MiB without a newline: scanning
  // must stay linear (a quadratic validator would take minutes here).
  for (std::string unit :
       {"-p ", "mysql -p", "password ", "password: x ", "://a:b@", "echo x | sudo -S ", "<<< ",
        "PIN 1234 ", "Basic QUFBQTpC ", "my password is ", "net use ", "htpasswd -b ",
        "password for the wifi is ", "\"auth\": \"QUFB", "IDENTIFIED BY 'x' "}) {
    std::string s;
    while (s.size() < (1 << 20)) s += unit;
    auto t0 = std::chrono::steady_clock::now();
    auto f = R()->Scan(s);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_TRUE(f.ok());
    EXPECT_LT(secs, 20.0) << unit;
  }
}

TEST(CredentialsEngine, SplitAcrossFlushesMatchesBlockMode) {
  // The owner of a flag and the cue of a sentence lie before the secret:
  // a stream cut anywhere gives the block-mode findings.
  for (std::string line :
       {"sshpass -p 'Sup3r!pw' ssh -p 2222 bob@build-02", "echo 'S3cret!' | sudo -S apt update",
        "the password for the wifi is Sommer2024!", "my pin is 4821",
        "Authorization: Basic YWxhZGRpbjpvcGVuc2VzYW1l"}) {
    auto block = ScanOk(line);
    ASSERT_FALSE(block.empty()) << line;
    for (size_t cut = 1; cut < line.size(); ++cut) {
      StreamRedactor s(R());
      std::vector<Finding> got;
      ASSERT_TRUE(s.Append(line.substr(0, cut), nullptr, &got).ok());
      ASSERT_TRUE(s.Append(line.substr(cut), nullptr, &got).ok());
      ASSERT_TRUE(s.EndRun(nullptr, &got).ok());
      EXPECT_EQ(got, block) << line << " cut at " << cut;
    }
  }
}

}  // namespace
}  // namespace sealtrace::privacy
